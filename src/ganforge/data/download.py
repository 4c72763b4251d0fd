"""Checksum-pinned downloads into the ganforge cache directory, written atomically."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ganforge import __version__, console
from ganforge.errors import DataError
from ganforge.fileio import user_umask

CHUNK_BYTES = 1 << 20
USER_AGENT = f"ganforge/{__version__}"  # some dataset hosts refuse Python's default agent


def cache_dir() -> Path:
    """Where downloads and rendered datasets live: `$GANFORGE_CACHE`, else `~/.cache/ganforge`."""
    return Path(os.environ.get("GANFORGE_CACHE") or "~/.cache/ganforge").expanduser()


NO_SYSTEM_DATA_ENV = "GANFORGE_NO_SYSTEM_DATA"


def system_data_hidden() -> bool:
    """True when `GANFORGE_NO_SYSTEM_DATA=1`: every built-in source then treats copies installed by
    the system (/usr/share/datasets, fonts used as data, wallpapers) as absent, as on a bare machine.
    CI runs the test suite so, to prove that tests needing such data skip instead of failing."""
    return os.environ.get(NO_SYSTEM_DATA_ENV, "").strip() not in ("", "0")


def system_paths(paths: Sequence[str | Path]) -> list[Path]:
    """`paths` (user-expanded) where a source may look for system-installed data; none when hidden."""
    return [] if system_data_hidden() else [Path(p).expanduser() for p in paths]


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    urls: str | Sequence[str],
    dest: str | Path,
    sha256: str,
    timeout: float = 60.0,
    progress: bool | None = None,
) -> Path:
    """Fetch `dest` from the first of `urls` (mirrors) that answers with the expected sha256.

    The bytes stream into a temporary file beside `dest`, are hashed on the way, and the file is
    renamed onto `dest` only when the checksum matches, so `dest` is either complete or absent.
    Raises DataError naming the URLs and where to put the file by hand when every mirror fails.
    """
    dest = Path(dest)
    urls = [urls] if isinstance(urls, str) else list(urls)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            f"cannot create the folder {dest.parent} ({err.strerror}); set GANFORGE_CACHE"
        ) from None
    failures = []
    for url in urls:
        try:
            return _fetch(url, dest, sha256.lower(), timeout, progress)
        except DataError as err:
            failures.append(str(err))
    tried = "; ".join(failures)
    raise DataError(f"{tried}; download {dest.name} yourself and put it at {dest}")


def _fetch(url: str, dest: Path, sha256: str, timeout: float, progress: bool | None) -> Path:
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as err:
        raise DataError(f"cannot write in {dest.parent} ({err.strerror}); set GANFORGE_CACHE") from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            show = console.progress_enabled() if progress is None else progress
            with _bar(show, total, dest.name) as advance:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise DataError(
                f"{url} gave a file with sha256 {digest.hexdigest()}, expected {sha256} (discarded)"
            )
        os.chmod(tmp, 0o666 & ~user_umask())  # mkstemp makes it private; a dataset is not a secret
        os.replace(tmp, dest)
        return dest
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or err
        raise DataError(f"could not download {url} ({reason})") from None
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _bar(enabled: bool, total: int | None, name: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    columns = (*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console.console, transient=True) as progress:
        task = progress.add_task(f"downloading {name}", total=total)
        yield lambda n: progress.advance(task, n)
