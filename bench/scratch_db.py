"""A throwaway embedded PostgreSQL, migrated, for benchmarks that load millions of rows."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    from core.migrate import migrate
    from devstack.services import start_postgres, stop_postgres

    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        url = start_postgres(root)
        migrate(url)
        yield url
    finally:
        stop_postgres(root)
        shutil.rmtree(root, ignore_errors=True)
