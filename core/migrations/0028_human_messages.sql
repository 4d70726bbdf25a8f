-- Messages written by a human (POST /v1/fans/{id}/messages) travel as drafts that their author decided: the
-- draft row records who wrote it (null: the DM agent wrote it), and every sent message records the member
-- who sent it (the author, or the member who approved the agent's draft; null for the creator's own messages
-- on the platform and for history imports).
ALTER TABLE drafts ADD COLUMN written_by uuid;
ALTER TABLE messages ADD COLUMN sent_by uuid;
