-- Platform connectors. A connection is either a signed webhook (kind 'webhook': the bridge to an adapter the
-- creator runs) or a platform's own API (kind 'instagram': the Instagram Messaging API). The sealed secret is the
-- webhook's signing secret or the platform's access token; `account_id` is the creator's account on the platform
-- (Instagram: the professional account id that inbound webhooks name in entry[].id), one creator per account.
-- The last_* columns are the connection's health (GET /v1/connections).
ALTER TABLE connections ALTER COLUMN webhook_url DROP NOT NULL;
ALTER TABLE connections ADD COLUMN kind text NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook', 'instagram'));
ALTER TABLE connections ADD COLUMN account_id text;
ALTER TABLE connections ADD COLUMN token_expires_at timestamptz;
ALTER TABLE connections ADD COLUMN last_event_at timestamptz;
ALTER TABLE connections ADD COLUMN last_send_at timestamptz;
ALTER TABLE connections ADD COLUMN last_error text;
ALTER TABLE connections ADD COLUMN last_error_at timestamptz;
ALTER TABLE connections ADD CONSTRAINT connections_kind_shape CHECK (
    (kind = 'webhook' AND webhook_url IS NOT NULL) OR (kind <> 'webhook' AND account_id IS NOT NULL));
CREATE UNIQUE INDEX connections_account_idx ON connections (platform, account_id) WHERE account_id IS NOT NULL;

-- A platform call without an idempotency key of its own (Instagram's Send API) is made at most once per delivery
-- attempt: the attempt is marked before the call, and a retry that finds the mark without an outcome does not
-- call again (the delivery fails for a human to check, retry or discard).
ALTER TABLE outbox ADD COLUMN send_started_at timestamptz;
