-- Issue 21, twin of migrations/0020: account recovery (a Temporary Access Pass after a
-- verified result with Face Check). The pass itself is never stored.

CREATE TABLE recovery_organizations (
    organization_id    uuid PRIMARY KEY NOT NULL
                       REFERENCES microsoft_integrations(organization_id) ON DELETE CASCADE,
    tenant_id          text NOT NULL,
    lifetime_minutes   bigint NOT NULL DEFAULT 60,
    one_time           boolean NOT NULL DEFAULT true,
    refuse_privileged  boolean NOT NULL DEFAULT true,
    enabled_by         uuid REFERENCES users(id) ON DELETE SET NULL,
    enabled_at         timestamptz NOT NULL
);

CREATE TABLE recovery_consent_attempts (
    state_hash       text PRIMARY KEY NOT NULL,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id        text NOT NULL,
    expires_at       timestamptz NOT NULL
);

CREATE TABLE recovery_agents (
    user_id          uuid PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    granted_by       uuid REFERENCES users(id) ON DELETE SET NULL,
    granted_at       timestamptz NOT NULL
);

CREATE TABLE verification_recoveries (
    verification_id  uuid PRIMARY KEY NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    state            text NOT NULL,
    refusal          text,
    valid_until      timestamptz,
    updated_at       timestamptz NOT NULL
);

-- The two new event kinds and their ticket timeline entries: the word lists of 0014 again.
ALTER TABLE verification_events DROP CONSTRAINT verification_events_words_known;
ALTER TABLE verification_events ADD CONSTRAINT verification_events_words_known CHECK (
    kind IN (
        'created', 'link_emailed', 'opened', 'requested', 'scanned', 'verified', 'expired',
        'cancelled', 'ignored', 'face_check_not_enabled', 'temporary_access_pass_issued',
        'temporary_access_pass_refused', 'failed.different_email',
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

ALTER TABLE ticket_entries DROP CONSTRAINT ticket_entries_kind_known;
ALTER TABLE ticket_entries ADD CONSTRAINT ticket_entries_kind_known CHECK (
    kind IN (
        'sent', 'emailed', 'mail_delivered', 'mail_failed', 'opened', 'scanned',
        'verified', 'failed', 'try_failed', 'expired', 'cancelled', 'pass_issued',
        'pass_refused'
    )
);
