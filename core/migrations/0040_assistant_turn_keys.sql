-- An assistant request sent with an Idempotency-Key stores the key with its turn (`<member id>:<key>`), so a retry
-- that comes after the thread's workflow run closed is answered from the stored turn instead of being asked again.
-- One turn per key in a thread.
ALTER TABLE assistant_turns ADD COLUMN request_key text;
CREATE UNIQUE INDEX assistant_turns_request_key ON assistant_turns (creator_id, thread_id, request_key)
    WHERE request_key IS NOT NULL;
