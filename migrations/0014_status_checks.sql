-- The database refuses a word the code does not know in a status or kind column (issue 18):
-- a verification's status and failure reason, an event's kind and status, a Microsoft
-- request's state, a ticket entry's kind. The lists are the vocabulary's (`vocabulary/`) and
-- `tickets::EntryKind`'s; a test (`status_checks` in the integration suite) compares them,
-- so a new word fails it until a migration lets the database store it. A failure and its
-- reason also go together: `failed` always has one, nothing else does.
--
-- SQLite cannot add a CHECK to an existing table: triggers refuse the row instead (twin of
-- migrations-postgres/0014, which adds the constraints).

CREATE TRIGGER verifications_words_known_insert BEFORE INSERT ON verifications
WHEN NEW.status NOT IN (
        'created', 'opened', 'requested', 'scanned', 'verified', 'failed', 'expired',
        'cancelled'
    )
    OR (NEW.failure_reason IS NOT NULL AND NEW.failure_reason NOT IN (
            'different_email', 'no_email', 'issuer_not_connected_tenant',
            'wrong_credential_type', 'revoked', 'domain_not_covered', 'declined',
            'authenticator_error', 'face_check_below_threshold', 'revocation_unknown',
            'email_not_trusted'
    ))
    OR (NEW.status = 'failed') <> (NEW.failure_reason IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'verifications_words_known: an unknown word in verifications');
END;

CREATE TRIGGER verifications_words_known_update BEFORE UPDATE OF status, failure_reason ON verifications
WHEN NEW.status NOT IN (
        'created', 'opened', 'requested', 'scanned', 'verified', 'failed', 'expired',
        'cancelled'
    )
    OR (NEW.failure_reason IS NOT NULL AND NEW.failure_reason NOT IN (
            'different_email', 'no_email', 'issuer_not_connected_tenant',
            'wrong_credential_type', 'revoked', 'domain_not_covered', 'declined',
            'authenticator_error', 'face_check_below_threshold', 'revocation_unknown',
            'email_not_trusted'
    ))
    OR (NEW.status = 'failed') <> (NEW.failure_reason IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'verifications_words_known: an unknown word in verifications');
END;

CREATE TRIGGER verification_events_words_known_insert BEFORE INSERT ON verification_events
WHEN NEW.kind NOT IN (
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
    OR NEW.status NOT IN (
        'created', 'opened', 'requested', 'scanned', 'verified', 'failed', 'expired',
        'cancelled'
    )
BEGIN
    SELECT RAISE(ABORT, 'verification_events_words_known: an unknown word in verification_events');
END;

CREATE TRIGGER verification_events_words_known_update BEFORE UPDATE OF kind, status ON verification_events
WHEN NEW.kind NOT IN (
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
    OR NEW.status NOT IN (
        'created', 'opened', 'requested', 'scanned', 'verified', 'failed', 'expired',
        'cancelled'
    )
BEGIN
    SELECT RAISE(ABORT, 'verification_events_words_known: an unknown word in verification_events');
END;

CREATE TRIGGER presentation_requests_state_known_insert BEFORE INSERT ON presentation_requests
WHEN NEW.state NOT IN (
        'pending', 'retrieved', 'presented', 'failed'
    )
BEGIN
    SELECT RAISE(ABORT, 'presentation_requests_state_known: an unknown word in presentation_requests');
END;

CREATE TRIGGER presentation_requests_state_known_update BEFORE UPDATE OF state ON presentation_requests
WHEN NEW.state NOT IN (
        'pending', 'retrieved', 'presented', 'failed'
    )
BEGIN
    SELECT RAISE(ABORT, 'presentation_requests_state_known: an unknown word in presentation_requests');
END;

CREATE TRIGGER ticket_entries_kind_known_insert BEFORE INSERT ON ticket_entries
WHEN NEW.kind NOT IN (
        'sent', 'emailed', 'mail_delivered', 'mail_failed', 'opened', 'scanned',
        'verified', 'failed', 'try_failed', 'expired', 'cancelled'
    )
BEGIN
    SELECT RAISE(ABORT, 'ticket_entries_kind_known: an unknown word in ticket_entries');
END;

CREATE TRIGGER ticket_entries_kind_known_update BEFORE UPDATE OF kind ON ticket_entries
WHEN NEW.kind NOT IN (
        'sent', 'emailed', 'mail_delivered', 'mail_failed', 'opened', 'scanned',
        'verified', 'failed', 'try_failed', 'expired', 'cancelled'
    )
BEGIN
    SELECT RAISE(ABORT, 'ticket_entries_kind_known: an unknown word in ticket_entries');
END;
