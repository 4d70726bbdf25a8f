-- A pending alert is tried again on its own: the alert retry schedule sends the pending alerts whose
-- next_attempt_at has come (a new alert's is its creation; a failed try moves it back, doubling up to an hour),
-- so neither a failed try nor a worker that died between an event's commit and its alert waits for the next alert.
ALTER TABLE alerts ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX alerts_due ON alerts (next_attempt_at) WHERE status = 'pending';
