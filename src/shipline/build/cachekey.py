"""A dependency cache key from the lock files of a build context, for ``actions/cache``.

It changes exactly when a lock file that enters the build context changes, so a restored
pip/uv cache matches the dependencies the build installs.
"""

from __future__ import annotations

import fnmatch
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


def dockerignore_patterns(context: Path) -> list[str]:
    ignore_file = context / ".dockerignore"
    if not ignore_file.is_file():
        return []
    lines = ignore_file.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def is_dockerignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern decides, and ``!`` lets a path back in.

    Enough for the top-level lock files looked at here; ``**`` spans directories.
    """
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").strip().lstrip("/").rstrip("/")
        if fnmatch.fnmatchcase(relative, body) or fnmatch.fnmatchcase(
            relative, body.replace("**/", "")
        ):
            ignored = not negated
    return ignored


def lock_files(context: Path) -> list[Path]:
    """Lock files that enter the build: those ``.dockerignore`` keeps out cannot matter."""
    found: set[Path] = set()
    for pattern in LOCK_FILE_PATTERNS:
        found.update(path for path in context.glob(pattern) if path.is_file())
    patterns = dockerignore_patterns(context)
    kept = [
        path
        for path in found
        if not is_dockerignored(path.relative_to(context).as_posix(), patterns)
    ]
    return sorted(kept, key=lambda path: path.relative_to(context).as_posix())


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
