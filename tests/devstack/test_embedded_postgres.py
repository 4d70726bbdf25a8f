import psycopg

from devstack.services import EMBEDDED_PG_SETTINGS


def test_the_embedded_server_runs_with_its_tuned_settings(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        for name, value in EMBEDDED_PG_SETTINGS.items():
            row = conn.execute("SELECT current_setting(%s)", [name]).fetchone()
            assert row is not None and row[0] == value, name
