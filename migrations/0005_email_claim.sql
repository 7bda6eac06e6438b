-- TEMPORARY (lead): replaced by the callback branch's 0005 at merge.
ALTER TABLE microsoft_integrations ADD COLUMN email_claim TEXT NOT NULL DEFAULT 'mail';
