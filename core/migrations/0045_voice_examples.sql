-- Voice examples: the creator's own past replies, each with the fan message(s) it answered. The vector is the fan
-- side's, so a new fan message finds the exchanges whose fan message it resembles. One row per outbound message
-- (imported history, a creator_message event, a member's message, a sent draft); an edited draft keeps the
-- agent's text beside the edited one that was sent (draft_text).
CREATE TABLE voice_examples (
    creator_id       uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    message_id       bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    fan_id           uuid NOT NULL,
    source           text NOT NULL CHECK (source IN ('creator', 'member', 'approved', 'edited')),
    fan_text         text NOT NULL,
    reply_text       text NOT NULL,
    draft_text       text,
    embedding        vector(384) NOT NULL,
    embedding_model  text NOT NULL,
    sent_at          timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (creator_id, message_id),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id) ON DELETE CASCADE,
    CHECK ((source = 'edited') = (draft_text IS NOT NULL))
);
