-- An age signal (a possible minor) stays with the fan until a human clears it: routing reads it on every batch.
ALTER TABLE fans ADD COLUMN age_signal_at timestamptz;
ALTER TABLE fans ADD COLUMN age_signal_text text;
