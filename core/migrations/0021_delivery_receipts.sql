-- Delivery receipts: the platform adapter reports what became of a send. An outbox row is `pending` until it is
-- handed over, `delivered` once handed over (the webhook answered 2xx) or reported delivered, `failed` when the
-- adapter reported a failure (it waits for a human: retry or discard), `discarded` when a human gave up on it.
-- `receipt` is the adapter's report on the current attempt (NULL until one arrives; a retry starts a new attempt).
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'discarded'));
ALTER TABLE outbox ADD COLUMN receipt text CHECK (receipt IN ('delivered', 'failed'));
ALTER TABLE outbox ADD COLUMN receipt_at timestamptz;
ALTER TABLE outbox ADD COLUMN receipt_error text;
ALTER TABLE outbox ADD COLUMN platform_message_id text;
ALTER TABLE outbox ADD COLUMN retries integer NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN discarded_at timestamptz;
ALTER TABLE outbox ADD COLUMN discarded_by uuid;
-- The failed deliveries a human has to look at, newest first.
CREATE INDEX outbox_failed_idx ON outbox (creator_id, id DESC) WHERE status = 'failed';
