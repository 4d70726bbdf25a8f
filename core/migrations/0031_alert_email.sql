-- E-mail as a second alert channel: the address a creator's alerts are mailed to (through the SMTP server in the
-- settings), and one alert row per channel, so each channel is sent once and marked on its own.
ALTER TABLE alert_configs ADD COLUMN email_to text;
ALTER TABLE alerts ADD COLUMN channel text NOT NULL DEFAULT 'webhook' CHECK (channel IN ('webhook', 'email'));
ALTER TABLE alerts DROP CONSTRAINT alerts_creator_id_idempotency_key_key;
ALTER TABLE alerts ADD CONSTRAINT alerts_one_per_channel UNIQUE (creator_id, channel, idempotency_key);
