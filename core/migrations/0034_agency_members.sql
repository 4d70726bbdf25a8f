-- Agencies: one person who works for several creators. The person is their member row on one creator (their home
-- row); a role on another creator is a member row there whose identity_id names the home row, with its own role
-- (manager on one creator, viewer on another). Only an agency key (api_keys.agency, issued to a home row by
-- `huntaze keys create --agency`) acts for the creators of those rows, chosen per request with X-Creator-Id; every
-- other key, including a creator owner's new key for a granted row, acts for its own creator exactly as before.
ALTER TABLE members ADD COLUMN identity_id uuid REFERENCES members(id) ON DELETE SET NULL;
ALTER TABLE members ADD CONSTRAINT members_identity_not_self CHECK (identity_id <> id);
CREATE UNIQUE INDEX members_identity_creator_idx ON members (identity_id, creator_id) WHERE identity_id IS NOT NULL;
ALTER TABLE api_keys ADD COLUMN agency boolean NOT NULL DEFAULT false;
