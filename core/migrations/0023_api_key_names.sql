-- A key's name: what it is for ("laptop", "zapier"), shown in the key list so a member can tell their keys apart
-- and revoke the right one. Optional; older keys have none.
ALTER TABLE api_keys ADD COLUMN name text CHECK (name IS NULL OR length(name) BETWEEN 1 AND 100);
