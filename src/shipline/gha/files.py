"""The runner's file protocols: ``$GITHUB_OUTPUT``, ``$GITHUB_ENV`` and ``$GITHUB_PATH``."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import MutableMapping
from pathlib import Path

from shipline.gha.commands import Console

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _heredoc(name: str, value: str) -> str:
    """One ``name<<DELIM`` record; the delimiter is random so no value can end it early."""
    if not _NAME.match(name):
        raise ValueError(f"invalid name {name!r}: expected letters, digits, '_' or '-'")
    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _append(path: str, text: str) -> None:
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(text)


class RunnerFiles:
    """Writes step outputs, exported variables and PATH entries where the runner reads them."""

    def __init__(self, console: Console, environ: MutableMapping[str, str] | None = None) -> None:
        self.console = console
        self.environ = os.environ if environ is None else environ

    def set_output(self, name: str, value: object) -> None:
        text = _stringify(value)
        target = self.environ.get("GITHUB_OUTPUT")
        if target:
            _append(target, _heredoc(name, text))
        else:
            self.console.info(f"output {name}={text}")

    def export_variable(self, name: str, value: object) -> None:
        text = _stringify(value)
        self.environ[name] = text
        target = self.environ.get("GITHUB_ENV")
        if target:
            _append(target, _heredoc(name, text))

    def add_path(self, directory: str | Path) -> None:
        entry = str(directory)
        current = self.environ.get("PATH", "")
        self.environ["PATH"] = f"{entry}{os.pathsep}{current}" if current else entry
        target = self.environ.get("GITHUB_PATH")
        if target:
            _append(target, f"{entry}\n")


def _stringify(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
