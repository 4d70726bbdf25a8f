-- The creator's profile as the owner edits it (PATCH /v1/creator): voice notes and languages beside the persona,
-- versioned like policies (every change is a new row; the creator row holds the current and its version number).
ALTER TABLE creators ADD COLUMN voice_notes text NOT NULL DEFAULT '';
ALTER TABLE creators ADD COLUMN languages text[] NOT NULL DEFAULT '{en}';
ALTER TABLE creators ADD COLUMN profile_version integer NOT NULL DEFAULT 1;

CREATE TABLE creator_versions (
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    version     integer NOT NULL,
    profile     jsonb NOT NULL,
    created_by  uuid REFERENCES members(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (creator_id, version)
);

-- Creators made before this migration start their history at version 1 with what they have now.
INSERT INTO creator_versions (creator_id, version, profile, created_at)
SELECT id, 1, jsonb_build_object('display_name', display_name, 'persona', persona, 'voice_notes', '',
                                 'timezone', timezone, 'languages', jsonb_build_array('en'),
                                 'ppv_min_cents', ppv_min_cents, 'ppv_max_cents', ppv_max_cents),
       created_at
FROM creators;
