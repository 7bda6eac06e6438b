-- Removing a user must work whatever they did: invites keep who sent them by name and
-- lose only the link to a removed account. (Twin of migrations/0004, which rebuilds the
-- table because SQLite cannot alter a foreign key; PostgreSQL can.)
ALTER TABLE invites ADD COLUMN created_by_name text NOT NULL DEFAULT '';
UPDATE invites i SET created_by_name = u.display_name FROM users u WHERE u.id = i.created_by;
ALTER TABLE invites ALTER COLUMN created_by_name DROP DEFAULT;
ALTER TABLE invites ALTER COLUMN created_by DROP NOT NULL;
ALTER TABLE invites DROP CONSTRAINT invites_created_by_fkey;
ALTER TABLE invites ADD CONSTRAINT invites_created_by_fkey
    FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;
