-- Inbox pages show the title of each offered catalog item: a renamed or removed item changes them, so catalog
-- writes notify the inbox scope like the other tables the page reads (see 0011). A new item is in no draft yet.
CREATE TRIGGER inbox_catalog_upd AFTER UPDATE ON catalog REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
CREATE TRIGGER inbox_catalog_del AFTER DELETE ON catalog REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
