-- Alerts: where a creator's team is told about events that need a person (a hand-off, ...), and one row per alert
-- sent. alert_configs holds each creator's channels (a signed webhook; its HMAC secret sealed like a connection's,
-- bound to "alert:<creator_id>") and the events subscribed to. An alert row is written, in the same transaction as
-- the event it tells of, under a key unique per creator: a retried activity finds it and adds nothing, and a row
-- already sent is never sent again.
CREATE TABLE alert_configs (
    creator_id    uuid PRIMARY KEY REFERENCES creators(id) ON DELETE CASCADE,
    webhook_url   text,
    key_id        text,
    secret_nonce  bytea,
    secret_sealed bytea,
    events        text[] NOT NULL DEFAULT '{}',
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    uuid REFERENCES members(id) ON DELETE SET NULL,
    CHECK ((webhook_url IS NULL) = (secret_sealed IS NULL)),
    CHECK ((key_id IS NULL) = (secret_sealed IS NULL) AND (secret_nonce IS NULL) = (secret_sealed IS NULL))
);

CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    creator_id      uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    event           text NOT NULL,
    idempotency_key text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- pending: not sent yet (or its last try failed: last_error); sent; rate_limited: dropped, over the creator's
    -- hourly limit
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'rate_limited')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    sent_at         timestamptz,
    UNIQUE (creator_id, idempotency_key)
);
CREATE INDEX alerts_pending ON alerts (creator_id, id) WHERE status = 'pending';
CREATE INDEX alerts_sent ON alerts (creator_id, sent_at) WHERE status = 'sent';
