-- Failed TOTP attempts per member: after a run of failures the member is locked until `locked_until`, for a
-- period that doubles with each lock in a row (api/routers/security.py). Kept in Postgres, under the row lock
-- the check already takes, so the limit holds across API processes. A correct code resets both counts.
ALTER TABLE member_totp ADD COLUMN failures integer NOT NULL DEFAULT 0;
ALTER TABLE member_totp ADD COLUMN lockouts integer NOT NULL DEFAULT 0;
ALTER TABLE member_totp ADD COLUMN locked_until timestamptz;
