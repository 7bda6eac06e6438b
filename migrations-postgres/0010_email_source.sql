-- Where the credential's email comes from, and the Face Check a request asked for.
-- (Twin of migrations/0010.)

ALTER TABLE microsoft_integrations ADD COLUMN email_source text NOT NULL DEFAULT 'unknown'
    CHECK (email_source IN ('directory', 'directory_sign_in', 'id_token_hint', 'presentation',
                            'other_identity_provider', 'self_issued', 'unknown'));
ALTER TABLE microsoft_integrations ADD COLUMN email_source_accepted boolean NOT NULL DEFAULT false;
ALTER TABLE microsoft_integrations ADD COLUMN claim_origins text NOT NULL DEFAULT '[]';
ALTER TABLE microsoft_integrations ADD COLUMN photo_claim text;

ALTER TABLE presentation_requests ADD COLUMN face_check_threshold bigint;
