-- Operator console sign-ins: the cookie carries a random token; only its SHA-256 is stored, with the API key it
-- signed in with (sealed with AES-256-GCM, bound to the session row) and the session's CSRF token.
CREATE TABLE console_sessions (
    token_hash   bytea PRIMARY KEY,
    creator_id   uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    key_id       uuid NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    sealed_key   jsonb NOT NULL,   -- {key_id, nonce, ciphertext} (base64)
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
