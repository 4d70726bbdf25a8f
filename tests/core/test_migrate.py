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


def test_history_rows_name_a_fan_of_their_creator_and_go_with_it(database_url: str) -> None:
    """Events, messages and transactions are checked against their fan's key only (it implies the creator): a
    row naming another creator's fan, or a creator without that fan, is refused; deleting a creator deletes them
    through its fans."""
    with psycopg.connect(database_url) as conn:
        a, b = (
            conn.execute(
                "INSERT INTO creators (handle, display_name) VALUES (%s, %s) RETURNING id", [h, h]
            ).fetchone()[0]  # type: ignore[index]
            for h in ("fk-a", "fk-b")
        )
        fan = conn.execute(
            "INSERT INTO fans (creator_id, platform_fan_id) VALUES (%s, 'f') RETURNING id", [a]
        ).fetchone()[0]  # type: ignore[index]
        event = conn.execute(
            "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
            " VALUES (%s, %s, 'e1', 'tip', '{}', now()) RETURNING id",
            [a, fan],
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO messages (creator_id, fan_id, direction, text, event_id, sent_at)"
            " VALUES (%s, %s, 'in', 'hi', %s, now())",
            [a, fan, event],
        )
        conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, event_id, occurred_at)"
            " VALUES (%s, %s, 'tip', 500, %s, now())",
            [a, fan, event],
        )
        conn.commit()
        for creator in (b, "00000000-0000-0000-0000-000000000000"):
            for sql in (
                "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
                " VALUES (%s, %s, 'e2', 'tip', '{}', now())",
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'in', 'x', now())",
                "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, occurred_at)"
                " VALUES (%s, %s, 'tip', 1, now())",
            ):
                try:
                    conn.execute(sql, [creator, fan])
                except psycopg.errors.ForeignKeyViolation:
                    conn.rollback()
                else:
                    raise AssertionError(f"stored a row of creator {creator} naming another's fan: {sql}")
        conn.execute("DELETE FROM creators WHERE id = %s", [a])
        conn.commit()
        left = [
            conn.execute(f"SELECT count(*) FROM {t} WHERE creator_id = %s", [a]).fetchone()[0]  # type: ignore[index]
            for t in ("events", "messages", "transactions", "fans")
        ]
        assert left == [0, 0, 0, 0]
