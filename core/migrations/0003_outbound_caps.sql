-- Frequency caps count the creator's outbound messages in the last hour across all fans.
CREATE INDEX messages_creator_out_idx ON messages (creator_id, sent_at DESC) WHERE direction = 'out';
