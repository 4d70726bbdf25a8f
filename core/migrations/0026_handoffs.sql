-- Hand-offs as rows: each time a fan is handed to a human is one hand-off, which a manager assigns to a member
-- and a human resolves with a reason (unfreezing the fan or keeping it frozen). A fan has at most one open
-- hand-off; a fan kept frozen who is handed off again (another message with a safety cue) gets a new one.
CREATE TABLE handoffs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id   uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id       uuid NOT NULL,
    reason       text,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    assignee     uuid REFERENCES members(id) ON DELETE SET NULL,
    assigned_at  timestamptz,
    resolved_at  timestamptz,
    resolved_by  uuid REFERENCES members(id) ON DELETE SET NULL,
    resolution   text,
    unfroze      boolean,
    CHECK ((resolved_at IS NULL) = (resolution IS NULL)),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX handoffs_one_open ON handoffs (creator_id, fan_id) WHERE resolved_at IS NULL;
CREATE INDEX handoffs_queue ON handoffs (creator_id, opened_at DESC, id DESC);

-- The fans handed off before hand-offs were rows: one open hand-off each.
INSERT INTO handoffs (creator_id, fan_id, reason, opened_at)
SELECT creator_id, id, handoff_reason, coalesce(handoff_at, age_signal_at) FROM fans
WHERE handoff_at IS NOT NULL OR age_signal_at IS NOT NULL;
