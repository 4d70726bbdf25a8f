-- Per-creator policy configuration is versioned: every change is a new row, the creator row holds the current.
ALTER TABLE creators ADD COLUMN policy_version integer NOT NULL DEFAULT 1;

CREATE TABLE policy_versions (
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    version     integer NOT NULL,
    config      jsonb NOT NULL,
    created_by  uuid REFERENCES members(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (creator_id, version)
);
