-- The database refuses a word the code does not know in a status or kind column (issue 18;
-- twin of migrations/0014, which uses triggers: SQLite cannot add a CHECK to a table). The
-- lists are the vocabulary's (`vocabulary/`) and `tickets::EntryKind`'s; a test
-- (`status_checks` in the integration suite) compares them, so a new word fails it until a
-- migration lets the database store it. A failure and its reason also go together.

ALTER TABLE verifications ADD CONSTRAINT verifications_words_known CHECK (
    status IN (
        'created', 'opened', 'requested', 'scanned', 'verified', 'failed', 'expired',
        'cancelled'
    )
    AND (failure_reason IS NULL OR failure_reason IN (
            'different_email', 'no_email', 'issuer_not_connected_tenant',
            'wrong_credential_type', 'revoked', 'domain_not_covered', 'declined',
            'authenticator_error', 'face_check_below_threshold', 'revocation_unknown',
            'email_not_trusted'
    ))
    AND ((status = 'failed') = (failure_reason IS NOT NULL))
);

ALTER TABLE verification_events ADD CONSTRAINT verification_events_words_known CHECK (
    kind IN (
        'created', 'link_emailed', 'opened', 'requested', 'scanned', 'verified', 'expired',
        'cancelled', 'ignored', 'face_check_not_enabled', 'failed.different_email',
        'attempt_failed.different_email', 'failed.no_email', 'attempt_failed.no_email',
        'failed.issuer_not_connected_tenant', 'attempt_failed.issuer_not_connected_tenant',
        'failed.wrong_credential_type', 'attempt_failed.wrong_credential_type',
        'failed.revoked', 'attempt_failed.revoked', 'failed.domain_not_covered',
        'attempt_failed.domain_not_covered', 'failed.declined', 'attempt_failed.declined',
        'failed.authenticator_error', 'attempt_failed.authenticator_error',
        'failed.face_check_below_threshold', 'attempt_failed.face_check_below_threshold',
        'failed.revocation_unknown', 'attempt_failed.revocation_unknown',
        'failed.email_not_trusted', 'attempt_failed.email_not_trusted'
    )
    AND status IN (
        'created', 'opened', 'requested', 'scanned', 'verified', 'failed', 'expired',
        'cancelled'
    )
);

ALTER TABLE presentation_requests ADD CONSTRAINT presentation_requests_state_known CHECK (
    state IN (
        'pending', 'retrieved', 'presented', 'failed'
    )
);

ALTER TABLE ticket_entries ADD CONSTRAINT ticket_entries_kind_known CHECK (
    kind IN (
        'sent', 'emailed', 'mail_delivered', 'mail_failed', 'opened', 'scanned',
        'verified', 'failed', 'try_failed', 'expired', 'cancelled'
    )
);
