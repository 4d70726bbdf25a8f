import psycopg

from core.migrate import migrate, migration_files


def test_migrations_are_recorded_and_idempotent(database_url: str) -> None:
    assert migrate(database_url) == []  # the template already holds them all
    with psycopg.connect(database_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [n for n, _ in migration_files()]


def test_every_table_carries_creator_id_and_vectors_exist(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                " AND table_name <> 'schema_migrations'"
            )
        ]
        missing = [
            t
            for t in tables
            if not conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = 'creator_id'",
                [t],
            ).fetchone()
        ]
        vec = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'fan_memories'::regclass AND attname = 'embedding'"
        ).fetchone()
    expected = {
        "creators",
        "members",
        "api_keys",
        "fans",
        "messages",
        "transactions",
        "catalog",
        "drafts",
        "agent_actions",
        "fan_memories",
        "audit_log",
        "events",
        "outbox",
    }
    assert expected <= set(tables)
    assert missing == []
    assert vec == ("vector(384)",)


def test_audit_log_is_append_only(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        cid = conn.execute(
            "INSERT INTO creators (handle, display_name) VALUES ('a', 'A') RETURNING id"
        ).fetchone()
        assert cid
        conn.execute(
            "INSERT INTO audit_log (creator_id, actor, action, subject, hash) VALUES (%s, 'x', 'y', 'z', "
            "'\\x00')",
            [cid[0]],
        )
        try:
            conn.execute("UPDATE audit_log SET actor = 'evil'")
        except psycopg.errors.RaiseException as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError("audit_log accepted an UPDATE")
