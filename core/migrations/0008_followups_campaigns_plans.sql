-- Follow-up sequences, campaigns and the daily plan.
--
-- Follow-up steps and campaign messages reach a fan's conversation as internal events (never accepted from
-- the API), so their drafts take the same path as replies: supervisor, DM agent, policy, human approval, send.
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN (
    'message', 'subscription_started', 'subscription_renewed', 'subscription_expired', 'purchase', 'tip',
    'followup_due', 'campaign_message'));

-- Per-creator sequence settings (agents.followup.config.FollowupConfig); '{}' means the defaults.
ALTER TABLE creators ADD COLUMN followup_config jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE TABLE followups (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id        uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id            uuid NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('welcome', 'win_back', 'ppv_reminder', 'inactive')),
    workflow_id       text NOT NULL,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'cancelled')),
    segment           text,              -- the fan's segment when the sequence was planned (tunes win-back)
    -- fan events after this one (replies, purchases, renewals) stop or advance the sequence
    trigger_event_id  bigint REFERENCES events(id),
    trigger_draft_id  uuid REFERENCES drafts(id),  -- the sent PPV offer a reminder is about
    catalog_id        uuid,
    steps             jsonb NOT NULL,   -- [{after_hours, intent}], fixed when planned
    steps_done        integer NOT NULL DEFAULT 0,
    next_step_at      timestamptz,
    stop_reason       text,
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    UNIQUE (creator_id, workflow_id),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id)
);
CREATE INDEX followups_fan_idx ON followups (creator_id, fan_id) WHERE status = 'active';
CREATE INDEX followups_list_idx ON followups (creator_id, started_at DESC, id);

CREATE TABLE campaigns (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id   uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    name         text NOT NULL,
    segment      text NOT NULL,
    intent       text NOT NULL,
    catalog_id   uuid,
    exclusions   jsonb NOT NULL,   -- the rules asked for
    excluded     jsonb NOT NULL,   -- how many fans each rule excluded
    recipients   integer NOT NULL,
    workflow_id  text NOT NULL,
    -- dispatching: recipients' events are being handed to their conversations; dispatched: every one was
    status       text NOT NULL DEFAULT 'dispatching' CHECK (status IN ('dispatching', 'dispatched')),
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_list_idx ON campaigns (creator_id, created_at DESC, id);

CREATE TABLE campaign_recipients (
    campaign_id  uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    creator_id   uuid NOT NULL,
    fan_id       uuid NOT NULL,
    event_id     bigint REFERENCES events(id),
    PRIMARY KEY (campaign_id, fan_id),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id)
);

ALTER TABLE drafts ADD COLUMN followup_id uuid REFERENCES followups(id);
ALTER TABLE drafts ADD COLUMN campaign_id uuid REFERENCES campaigns(id);
-- The fan's best time: an approved draft is not sent before this (quiet hours and caps still apply after it).
ALTER TABLE drafts ADD COLUMN send_after timestamptz;
CREATE INDEX drafts_campaign_idx ON drafts (creator_id, campaign_id) WHERE campaign_id IS NOT NULL;

-- The Daily Action List: one row per creator and local day, rewritten by that day's DailyPlan run.
CREATE TABLE daily_plans (
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    plan_date   date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    actions     jsonb NOT NULL,
    summary     jsonb NOT NULL,
    PRIMARY KEY (creator_id, plan_date)
);
