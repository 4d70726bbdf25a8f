-- The catalog as a creator manages it (GET/POST/PATCH /v1/catalog): the platform's own id of an item, so events
-- and offers can name it without knowing our UUID (unique per creator; an item may not have one yet), tags, and
-- when it last changed. Retired items keep `active = false`: purchases and unlocks of them still resolve.
ALTER TABLE catalog ADD COLUMN platform_item_id text;
ALTER TABLE catalog ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE catalog ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE catalog ADD CONSTRAINT catalog_platform_item_unique UNIQUE (creator_id, platform_item_id);
-- keyset pages, newest first
CREATE INDEX catalog_page_idx ON catalog (creator_id, created_at DESC, id DESC);
