-- Issue 21: account recovery. After a verified result with Face Check, a Temporary Access Pass
-- for the person, shown once on their own page; the pass itself is never stored.

-- Recovery is on for the organization: its admin consented to the recovery app registration
-- at the connected tenant, and an app token proved the grant. It hangs off the integration
-- (removing it turns recovery off) and holds only for the tenant it was proved at. The policy:
-- the pass's lifetime (10 to 480 minutes), one sign-in only, and whether holders of a
-- directory role are refused.
CREATE TABLE recovery_organizations (
    organization_id    TEXT PRIMARY KEY NOT NULL
                       REFERENCES microsoft_integrations(organization_id) ON DELETE CASCADE,
    tenant_id          TEXT NOT NULL,
    lifetime_minutes   INTEGER NOT NULL DEFAULT 60,
    one_time           INTEGER NOT NULL DEFAULT 1,
    refuse_privileged  INTEGER NOT NULL DEFAULT 1,
    enabled_by         TEXT REFERENCES users(id) ON DELETE SET NULL,
    enabled_at         TEXT NOT NULL
);

-- An "Enable account recovery" on its way to Microsoft's admin consent: the SHA-256 of the
-- state sent there, single use, for the admin who started it and the tenant it went to.
CREATE TABLE recovery_consent_attempts (
    state_hash       TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    expires_at       TEXT NOT NULL
);

-- Members an admin allowed to start account recovery (admins may always).
CREATE TABLE recovery_agents (
    user_id          TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    granted_by       TEXT REFERENCES users(id) ON DELETE SET NULL,
    granted_at       TEXT NOT NULL
);

-- A verification sent with "then issue a Temporary Access Pass": requested at send time;
-- issuing once the person's page asked for the pass (a second ask finds it taken); then
-- issued (with when it stops working, never the pass) or refused with its reason.
CREATE TABLE verification_recoveries (
    verification_id  TEXT PRIMARY KEY NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    state            TEXT NOT NULL,
    refusal          TEXT,
    valid_until      TEXT,
    updated_at       TEXT NOT NULL
);

-- The two new event kinds (a pass issued, a pass refused) and their ticket timeline entries:
-- the word lists of migrations/0014 again, with them added (SQLite: the triggers are replaced).

DROP TRIGGER verification_events_words_known_insert;
CREATE TRIGGER verification_events_words_known_insert BEFORE INSERT ON verification_events
WHEN NEW.kind NOT IN (
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
    OR NEW.status NOT IN (
        'created', 'opened', 'requested', 'scanned', 'verified', 'failed', 'expired',
        'cancelled'
    )
BEGIN
    SELECT RAISE(ABORT, 'verification_events_words_known: an unknown word in verification_events');
END;

DROP TRIGGER verification_events_words_known_update;
CREATE TRIGGER verification_events_words_known_update BEFORE UPDATE OF kind, status ON verification_events
WHEN NEW.kind NOT IN (
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
    OR NEW.status NOT IN (
        'created', 'opened', 'requested', 'scanned', 'verified', 'failed', 'expired',
        'cancelled'
    )
BEGIN
    SELECT RAISE(ABORT, 'verification_events_words_known: an unknown word in verification_events');
END;

DROP TRIGGER ticket_entries_kind_known_insert;
CREATE TRIGGER ticket_entries_kind_known_insert BEFORE INSERT ON ticket_entries
WHEN NEW.kind NOT IN (
        'sent', 'emailed', 'mail_delivered', 'mail_failed', 'opened', 'scanned',
        'verified', 'failed', 'try_failed', 'expired', 'cancelled', 'pass_issued',
        'pass_refused'
    )
BEGIN
    SELECT RAISE(ABORT, 'ticket_entries_kind_known: an unknown word in ticket_entries');
END;

DROP TRIGGER ticket_entries_kind_known_update;
CREATE TRIGGER ticket_entries_kind_known_update BEFORE UPDATE OF kind ON ticket_entries
WHEN NEW.kind NOT IN (
        'sent', 'emailed', 'mail_delivered', 'mail_failed', 'opened', 'scanned',
        'verified', 'failed', 'try_failed', 'expired', 'cancelled', 'pass_issued',
        'pass_refused'
    )
BEGIN
    SELECT RAISE(ABORT, 'ticket_entries_kind_known: an unknown word in ticket_entries');
END;
