-- Huntaze schema v1. Every row carries creator_id; every query filters on it.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE creators (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id     uuid GENERATED ALWAYS AS (id) STORED,
    handle         text NOT NULL UNIQUE,
    display_name   text NOT NULL,
    persona        text NOT NULL DEFAULT '',
    timezone       text NOT NULL DEFAULT 'UTC',
    ppv_min_cents  integer NOT NULL DEFAULT 500 CHECK (ppv_min_cents > 0),
    ppv_max_cents  integer NOT NULL DEFAULT 10000,
    policy_config  jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (ppv_max_cents >= ppv_min_cents)
);

CREATE TABLE members (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'manager', 'chatter', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (creator_id, email)
);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id    uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    member_id     uuid NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    prefix        text NOT NULL,
    key_hash      bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

CREATE TABLE fans (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id           uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    platform             text NOT NULL DEFAULT 'onlyfans',
    platform_fan_id      text NOT NULL,
    display_name         text NOT NULL DEFAULT '',
    timezone             text NOT NULL DEFAULT 'UTC',
    subscription_status  text NOT NULL DEFAULT 'none'
                         CHECK (subscription_status IN ('none', 'active', 'expired')),
    subscribed_at        timestamptz,
    expires_at           timestamptz,
    opted_out_at         timestamptz,
    handoff_at           timestamptz,
    handoff_reason       text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (creator_id, platform, platform_fan_id),
    UNIQUE (creator_id, id)
);

CREATE TABLE events (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id         uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id             uuid NOT NULL,
    platform_event_id  text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('message', 'subscription_started', 'subscription_renewed',
                                                     'subscription_expired', 'purchase', 'tip')),
    payload            jsonb NOT NULL,
    occurred_at        timestamptz NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    dispatched_at      timestamptz,
    processed_at       timestamptz,
    UNIQUE (creator_id, platform_event_id),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id)
);
CREATE INDEX events_fan_idx ON events (creator_id, fan_id, id);

CREATE TABLE catalog (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id   uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    media_kind   text NOT NULL DEFAULT 'photo_set',
    price_cents  integer NOT NULL CHECK (price_cents > 0),
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (creator_id, id)
);

CREATE TABLE drafts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id       uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id           uuid NOT NULL,
    source_key       text NOT NULL,
    workflow_id      text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending_review', 'blocked', 'approved', 'rejected',
                                                     'superseded', 'expired', 'sent')),
    text             text NOT NULL,
    final_text       text,
    offer            jsonb,
    rationale        text NOT NULL DEFAULT '',
    policy_report    jsonb NOT NULL,
    version          integer NOT NULL DEFAULT 1,
    event_ids        bigint[] NOT NULL DEFAULT '{}',
    decided_by       uuid,
    decided_at       timestamptz,
    decision_reason  text,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (creator_id, source_key),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id)
);
CREATE INDEX drafts_inbox_idx ON drafts (creator_id, status, created_at);

CREATE TABLE messages (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id           uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id               uuid NOT NULL,
    direction            text NOT NULL CHECK (direction IN ('in', 'out')),
    text                 text NOT NULL,
    platform_message_id  text,
    draft_id             uuid UNIQUE REFERENCES drafts(id),
    event_id             bigint REFERENCES events(id),
    sent_at              timestamptz NOT NULL,
    UNIQUE (creator_id, platform_message_id),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id)
);
CREATE INDEX messages_fan_idx ON messages (creator_id, fan_id, sent_at DESC);

CREATE TABLE transactions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id       uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id           uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('subscription', 'renewal', 'ppv', 'tip', 'unlock')),
    amount_cents     integer NOT NULL CHECK (amount_cents >= 0),
    catalog_id       uuid REFERENCES catalog(id),
    event_id         bigint REFERENCES events(id),
    platform_txn_id  text,
    occurred_at      timestamptz NOT NULL,
    UNIQUE (creator_id, platform_txn_id),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id)
);
CREATE INDEX transactions_fan_idx ON transactions (creator_id, fan_id, occurred_at DESC);

CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id    uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    draft_id      uuid NOT NULL UNIQUE REFERENCES drafts(id),
    fan_id        uuid NOT NULL,
    platform      text NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz
);

CREATE TABLE agent_actions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id      uuid,
    draft_id    uuid,
    kind        text NOT NULL,
    summary     text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (creator_id, dedupe_key)
);
CREATE INDEX agent_actions_feed_idx ON agent_actions (creator_id, id DESC);

CREATE TABLE fan_memories (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id         uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id             uuid NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('fact', 'preference', 'boundary', 'life_event', 'summary')),
    text               text NOT NULL,
    importance         real NOT NULL DEFAULT 0.5 CHECK (importance >= 0 AND importance <= 1),
    embedding          vector(384),
    embedding_model    text,
    source_message_id  bigint REFERENCES messages(id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id)
);
CREATE INDEX fan_memories_fan_idx ON fan_memories (creator_id, fan_id);

-- Append-only; each row's hash covers the previous row's hash of the same creator.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    actor       text NOT NULL,
    action      text NOT NULL,
    subject     text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash   bytea,
    hash        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_creator_idx ON audit_log (creator_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
