-- Platform connections: where a creator's approved messages are delivered, with the signing secret
-- encrypted (AES-256-GCM, core/crypto.py); the key id says which key sealed it.
CREATE TABLE connections (
    creator_id     uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    platform       text NOT NULL,
    webhook_url    text NOT NULL,
    key_id         text NOT NULL,
    secret_nonce   bytea NOT NULL,
    secret_sealed  bytea NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (creator_id, platform)
);

-- TOTP (RFC 6238) per member; the shared secret is encrypted like connection secrets.
CREATE TABLE member_totp (
    member_id      uuid PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
    creator_id     uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    key_id         text NOT NULL,
    secret_nonce   bytea NOT NULL,
    secret_sealed  bytea NOT NULL,
    confirmed_at   timestamptz,
    last_step      bigint  -- the last accepted time step: a code is good once
);

-- A key that passed a TOTP check may do sensitive operations until then.
ALTER TABLE api_keys ADD COLUMN step_up_until timestamptz;
