-- The event vocabulary grows: a creator's own message on the platform, a PPV unlock, refunds and chargebacks;
-- a fan's platform is one of the known ones.
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN (
    'message', 'subscription_started', 'subscription_renewed', 'subscription_expired', 'purchase', 'tip',
    'followup_due', 'campaign_message', 'creator_message', 'ppv_unlock', 'refund', 'chargeback'));

ALTER TABLE fans ADD CONSTRAINT fans_platform_check
    CHECK (platform IN ('onlyfans', 'fansly', 'fanvue', 'instagram', 'reddit', 'tiktok', 'x'));

-- An unlock is attributed to the sent draft whose offer the fan paid for (when one offered that item).
ALTER TABLE transactions ADD COLUMN offer_draft_id uuid REFERENCES drafts(id);

-- Money back on one earlier transaction: a refund, or a chargeback (the fan's bank took it back). Transactions
-- stay what was paid (gross); net = gross - refunds - chargebacks. Never more back than was paid: the API
-- checks it under the original transaction's row lock.
CREATE TABLE refunds (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id      uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id          uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('refund', 'chargeback')),
    transaction_id  bigint NOT NULL REFERENCES transactions(id),
    amount_cents    integer NOT NULL CHECK (amount_cents > 0),
    event_id        bigint NOT NULL REFERENCES events(id),
    occurred_at     timestamptz NOT NULL,
    UNIQUE (event_id),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id)
);
CREATE INDEX refunds_transaction_idx ON refunds (transaction_id);
CREATE INDEX refunds_creator_time_idx ON refunds (creator_id, occurred_at) INCLUDE (kind, amount_cents);
