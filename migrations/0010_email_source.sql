-- Where the credential's email comes from (issue 22), and the Face Check a request asked for
-- (issue 17 point 6).

-- The attestation the email claim is mapped from, judged against the tenant's directory.
-- Integrations stored before this was read are 'unknown': not active until the admin logs in
-- to the tenant again (fail closed: we cannot say the email is the directory's).
ALTER TABLE microsoft_integrations ADD COLUMN email_source TEXT NOT NULL DEFAULT 'unknown'
    CHECK (email_source IN ('directory', 'directory_sign_in', 'id_token_hint', 'presentation',
                            'other_identity_provider', 'self_issued', 'unknown'));
-- The admin explicitly accepted an email that is not checked against the directory (audited).
ALTER TABLE microsoft_integrations ADD COLUMN email_source_accepted INTEGER NOT NULL DEFAULT 0;
-- JSON: [{"claim","source"}] for the chosen credential's mapped claims.
ALTER TABLE microsoft_integrations ADD COLUMN claim_origins TEXT NOT NULL DEFAULT '[]';
-- The credential's photo claim (Face Check compares the selfie with it); NULL: none.
ALTER TABLE microsoft_integrations ADD COLUMN photo_claim TEXT;

-- The Face Check threshold this request asked Microsoft for (NULL: none): a presentation
-- without a score at or above it is not verified, whatever the settings say by then.
ALTER TABLE presentation_requests ADD COLUMN face_check_threshold INTEGER;
