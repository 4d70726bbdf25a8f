-- The creator's assistant: each answered request of a thread, stored once by the turn's activity (in the same
-- transaction as its actions), so a thread outlives its workflow run: a run started after the thread went idle
-- reads its last turns from here. `turn` counts from 0 within the thread; member_id is who asked (a member's id,
-- or "cli"); proposals are stored as answered, without the asker's `allowed`.
CREATE TABLE assistant_turns (
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    thread_id   text NOT NULL CHECK (thread_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    turn        integer NOT NULL CHECK (turn >= 0),
    member_id   text NOT NULL,
    text        text NOT NULL,
    answer      text NOT NULL,
    agents      jsonb NOT NULL DEFAULT '[]',
    steps       jsonb NOT NULL DEFAULT '[]',
    proposals   jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (creator_id, thread_id, turn)
);
