"""What `huntaze up` prints once everything has started: where the console, the API docs and the Temporal UI
are, and how to get an API key."""

from __future__ import annotations

import psycopg

from core.settings import Settings

# Creators listed in the key hint; more are counted, not listed.
LISTED_CREATORS = 5


def base_url(settings: Settings) -> str:
    """The API's address as a browser on this machine reaches it."""
    if settings.public_origin:
        return settings.public_origin.rstrip("/")
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):  # a wildcard bind answers on loopback too
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}"


def known_creators(database_url: str | None) -> list[tuple[str, str]] | None:
    """(handle, id) of the creators, oldest first (none in a database not migrated yet); None when the database
    cannot say."""
    if not database_url:
        return None
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            rows = conn.execute("SELECT handle, id::text FROM creators ORDER BY created_at, id").fetchall()
    except psycopg.errors.UndefinedTable:
        return []
    except psycopg.Error:
        return None
    return [(r[0], r[1]) for r in rows]


def welcome_lines(
    settings: Settings, *, with_api: bool, temporal_ui: bool, creators: list[tuple[str, str]] | None
) -> list[str]:
    base = base_url(settings)
    lines = []
    if with_api:
        lines.append(f"Console:     {base}/console/login")
        lines.append(f"API docs:    {base}/docs  (ReDoc: {base}/redoc)")
    if temporal_ui:
        lines.append(f"Temporal UI: http://127.0.0.1:{settings.temporal_ui_port}")
    command = "huntaze keys create --creator CREATOR_ID --role owner"
    if creators:
        first_id = creators[0][1]
        lines.append(
            f"API key:     huntaze keys create --creator {first_id} --role owner  (prints a new key once)"
        )
        listed = ", ".join(f"{h} {i}" for h, i in creators[:LISTED_CREATORS])
        more = f" and {len(creators) - LISTED_CREATORS} more" if len(creators) > LISTED_CREATORS else ""
        lines.append(f"             creators: {listed}{more}")
    elif creators == []:
        lines.append(f"API key:     no creator yet: `huntaze seed` makes one, then {command}")
    else:
        lines.append(f"API key:     {command}  (prints a new key once)")
    return lines
