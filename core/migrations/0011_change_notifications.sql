-- The API process keeps API keys and inbox pages (drafts with their fan's name, status, segment, spend and last
-- messages) in memory (api/fresh_cache.py). Every write that can change them says which creator's it touched: a
-- NOTIFY on the channel `huntaze_changes` with the scope `inbox:<creator id>` or `auth:<creator id>`, sent at
-- commit (once per scope and transaction), read by the API before it answers from memory.
CREATE FUNCTION inbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('huntaze_changes', 'inbox:' || c.creator_id::text)
    FROM (SELECT DISTINCT creator_id FROM changed) c;
    RETURN NULL;
END $$;

CREATE FUNCTION auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('huntaze_changes', 'auth:' || c.creator_id::text)
    FROM (SELECT DISTINCT creator_id FROM changed) c;
    RETURN NULL;
END $$;

-- A transition table has one name per trigger, so one trigger per operation. An update never moves a row to
-- another creator, so its new rows name every creator it touched.
CREATE TRIGGER inbox_drafts_ins AFTER INSERT ON drafts REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_drafts_upd AFTER UPDATE ON drafts REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_drafts_del AFTER DELETE ON drafts REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();

CREATE TRIGGER inbox_messages_ins AFTER INSERT ON messages REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_messages_upd AFTER UPDATE ON messages REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_messages_del AFTER DELETE ON messages REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();

CREATE TRIGGER inbox_transactions_ins AFTER INSERT ON transactions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_transactions_upd AFTER UPDATE ON transactions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_transactions_del AFTER DELETE ON transactions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();

-- A new fan has no draft yet; its first draft notifies.
CREATE TRIGGER inbox_fans_upd AFTER UPDATE ON fans REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_fans_del AFTER DELETE ON fans REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();

CREATE TRIGGER inbox_fan_scores_ins AFTER INSERT ON fan_scores REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_fan_scores_upd AFTER UPDATE ON fan_scores REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_fan_scores_del AFTER DELETE ON fan_scores REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();

-- A key's member, role, revocation and step-up.
CREATE TRIGGER auth_api_keys_upd AFTER UPDATE ON api_keys REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION auth_changed();
CREATE TRIGGER auth_api_keys_del AFTER DELETE ON api_keys REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION auth_changed();
CREATE TRIGGER auth_members_upd AFTER UPDATE ON members REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION auth_changed();
CREATE TRIGGER auth_members_del AFTER DELETE ON members REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION auth_changed();
