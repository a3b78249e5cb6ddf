"""A dependency cache key from the lock files of a build context, for ``actions/cache``.

It changes exactly when a lock file changes, so a restored pip/uv cache matches the
dependencies the build installs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

LOCK_FILE_PATTERNS = (
    "requirements*.txt",
    "requirements/*.txt",
    "uv.lock",
    "poetry.lock",
    "Pipfile.lock",
    "pdm.lock",
    "pyproject.toml",
)


def lock_files(context: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in LOCK_FILE_PATTERNS:
        found.update(path for path in context.glob(pattern) if path.is_file())
    return sorted(found, key=lambda path: path.relative_to(context).as_posix())


def dependency_cache_key(context: Path, prefix: str = "deps") -> tuple[str, list[Path]]:
    """``<prefix>-<hash>`` over each lock file's path and content, and the files used.

    With no lock file the key is empty: an unpinned build has nothing to key a cache on.
    """
    files = lock_files(context)
    if not files:
        return "", []
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(context).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"{prefix}-{digest.hexdigest()[:32]}", files
