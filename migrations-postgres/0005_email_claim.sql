-- The claim of the presented credential that holds the person's email. (Twin of
-- migrations/0005.)
ALTER TABLE microsoft_integrations ADD COLUMN email_claim text NOT NULL DEFAULT 'mail';
