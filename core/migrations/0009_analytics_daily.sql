-- Daily metrics of complete days per creator (and the timezone their days were cut in): what the analytics
-- overview and the anomaly detector read instead of re-aggregating months of transactions and messages on every
-- request. The rows are a cache. Any write that can change a day (a transaction or message inserted, changed or
-- deleted; a fan's expiry set or moved) deletes that creator's rows from two days before it on (a margin for
-- every timezone and the 24 h reply window), and the next read recomputes them.
--
-- Writers take a shared per-creator advisory lock and the filler an exclusive one, both held to commit: a
-- fill never stores a day computed without a write that was in flight (it waits for it), and a write never
-- misses a fill (it waits for it, then deletes what it filled).
CREATE TABLE analytics_daily (
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    timezone    text NOT NULL,
    day         date NOT NULL,
    revenue     bigint NOT NULL,
    subs        integer NOT NULL,
    churned     integer NOT NULL,
    inbound     integer NOT NULL,
    answered    integer NOT NULL,
    PRIMARY KEY (creator_id, timezone, day)
);

-- Subscription-month cohorts up to a month (`last_month`), cached the same way: a write forgets the creator's
-- cohort tables that reach its month.
CREATE TABLE analytics_cohorts (
    creator_id  uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    timezone    text NOT NULL,
    last_month  date NOT NULL,
    cohorts     jsonb NOT NULL,
    PRIMARY KEY (creator_id, timezone, last_month)
);

CREATE FUNCTION analytics_daily_forget(changed_creator uuid, changed_at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('analytics_daily:' || changed_creator::text));
    DELETE FROM analytics_daily
    WHERE creator_id = changed_creator AND day >= ((changed_at - interval '2 days') AT TIME ZONE 'UTC')::date;
    DELETE FROM analytics_cohorts
    WHERE creator_id = changed_creator
      AND last_month >= date_trunc('month', (changed_at - interval '2 days') AT TIME ZONE 'UTC')::date;
END $$;

CREATE FUNCTION analytics_daily_on_transactions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_daily_forget(c.creator_id, c.t)
    FROM (SELECT creator_id, min(occurred_at) AS t FROM changed GROUP BY creator_id) c;
    RETURN NULL;
END $$;

CREATE FUNCTION analytics_daily_on_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_daily_forget(c.creator_id, c.t)
    FROM (SELECT creator_id, min(sent_at) AS t FROM changed GROUP BY creator_id) c;
    RETURN NULL;
END $$;

CREATE FUNCTION analytics_daily_on_fans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_daily_forget(c.creator_id, c.t)
    FROM (SELECT creator_id, min(expires_at) AS t FROM changed WHERE expires_at IS NOT NULL GROUP BY creator_id) c;
    RETURN NULL;
END $$;

-- One trigger per operation (a transition table has one name per trigger); an update is seen through its old
-- rows and again through its new rows.
CREATE TRIGGER analytics_daily_txn_ins AFTER INSERT ON transactions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_transactions();
CREATE TRIGGER analytics_daily_txn_del AFTER DELETE ON transactions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_transactions();
CREATE TRIGGER analytics_daily_txn_upd_old AFTER UPDATE ON transactions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_transactions();
CREATE TRIGGER analytics_daily_txn_upd_new AFTER UPDATE ON transactions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_transactions();

CREATE TRIGGER analytics_daily_msg_ins AFTER INSERT ON messages REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_messages();
CREATE TRIGGER analytics_daily_msg_del AFTER DELETE ON messages REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_messages();
CREATE TRIGGER analytics_daily_msg_upd_old AFTER UPDATE ON messages REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_messages();
CREATE TRIGGER analytics_daily_msg_upd_new AFTER UPDATE ON messages REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_messages();

CREATE TRIGGER analytics_daily_fan_ins AFTER INSERT ON fans REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_fans();
CREATE TRIGGER analytics_daily_fan_del AFTER DELETE ON fans REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_daily_on_fans();
-- Fans are updated often (names, opt-outs, hand-offs): only a change of expiry or status can move churn.
CREATE FUNCTION analytics_daily_on_fan_expiry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analytics_daily_forget(NEW.creator_id, least(OLD.expires_at, NEW.expires_at));
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_daily_fan_upd AFTER UPDATE OF expires_at, subscription_status ON fans FOR EACH ROW
    WHEN (OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.subscription_status IS DISTINCT FROM NEW.subscription_status)
    EXECUTE FUNCTION analytics_daily_on_fan_expiry();

-- Period queries of one creator (the overview's money, stats, conversion and the recent days it computes live),
-- covering what they read so Postgres can answer from the index alone.
CREATE INDEX transactions_creator_time_idx ON transactions (creator_id, occurred_at)
    INCLUDE (fan_id, kind, amount_cents);
CREATE INDEX messages_creator_time_idx ON messages (creator_id, sent_at);
-- The creator's outbound messages by time (send caps, conversion): now covering the fan too.
CREATE INDEX messages_creator_out_fan_idx ON messages (creator_id, sent_at) INCLUDE (fan_id) WHERE direction = 'out';
DROP INDEX messages_creator_out_idx;
