"""Paths as annotations want them: relative to the workspace, with forward slashes."""

from __future__ import annotations

from pathlib import Path


def workspace_relative(path: str | Path, workspace: Path, base: Path | None = None) -> str:
    """``path`` (absolute, or relative to ``base``) as seen from the workspace root."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = (base or workspace) / candidate
    candidate = Path(*candidate.parts)  # normalise without touching the file system
    try:
        return candidate.resolve().relative_to(workspace.resolve()).as_posix()
    except ValueError:
        return candidate.as_posix()
