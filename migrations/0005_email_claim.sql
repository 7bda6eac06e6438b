-- The claim of the presented credential that holds the person's email: part of the
-- integration. `mail` for VerifiedEmployee (every integration so far); a custom credential
-- type names its own (e.g. `email`).
ALTER TABLE microsoft_integrations ADD COLUMN email_claim TEXT NOT NULL DEFAULT 'mail';
