-- What the creator's team knows about a fan: notes (written by members, kept, part of the DM agent's context as
-- the creator's knowledge) and tags (a set of short labels per fan, to filter fans and campaign audiences).
CREATE TABLE fan_notes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    fan_id      uuid NOT NULL,
    author      uuid REFERENCES members(id) ON DELETE SET NULL,
    text        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id) ON DELETE CASCADE
);
CREATE INDEX fan_notes_fan_idx ON fan_notes (creator_id, fan_id, id DESC);

ALTER TABLE fans ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX fans_tags_idx ON fans USING gin (tags);

-- A campaign may target only the fans with one tag (within its segment).
ALTER TABLE campaigns ADD COLUMN tag text;
