"""Workflow commands (``::error file=a.py,line=3::message``) and their human-readable twins."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO


class AnnotationLevel(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


def escape_data(value: str) -> str:
    """Escape a command's message the way the runner unescapes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a command property; ``:`` and ``,`` would otherwise end the property."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_command(
    name: str, message: str = "", properties: Mapping[str, object] | None = None
) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in (properties or {}).items()
        if value is not None and value != ""
    )
    head = f"::{name} {props}" if props else f"::{name}"
    return f"{head}::{escape_data(message)}"


@dataclass(frozen=True)
class Annotation:
    level: AnnotationLevel
    message: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    col: int | None = None
    end_column: int | None = None
    title: str | None = None

    def properties(self) -> dict[str, object]:
        props: dict[str, object] = {
            "title": self.title,
            "file": self.file,
            "line": self.line,
            "endLine": self.end_line,
        }
        # The runner only honours columns on single-line annotations.
        if self.end_line is None or self.end_line == self.line:
            props["col"] = self.col
            props["endColumn"] = self.end_column
        return props

    def location(self) -> str:
        if not self.file:
            return ""
        parts = [self.file]
        if self.line:
            parts.append(str(self.line))
            if self.col:
                parts.append(str(self.col))
        return ":".join(parts)


_COLOURS = {
    AnnotationLevel.ERROR: "\033[31m",
    AnnotationLevel.WARNING: "\033[33m",
    AnnotationLevel.NOTICE: "\033[36m",
}
_BOLD, _RESET = "\033[1m", "\033[0m"
# What the runner reads as a workflow command: a line that starts with "::" once trimmed, and
# the older "##[command]" anywhere in a line (lines end at \r too)
_READ_AS_COMMAND = re.compile(r"(?:\A|[\r\n])\s*::|##\[")


class Console:
    """Speaks workflow commands inside Actions and plain (optionally coloured) text elsewhere."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        stream: TextIO | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.in_actions = env.get("GITHUB_ACTIONS") == "true"
        self.stream = stream if stream is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.colour = not self.in_actions and isatty and "NO_COLOR" not in env

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def _paint(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self.colour else text

    def info(self, message: str) -> None:
        """A line for the log. Where it holds text from outside (a report's field, a test id)
        that the runner would read as a workflow command, it is shown as text."""
        if self.in_actions and _READ_AS_COMMAND.search(message):
            with self.verbatim() as show:
                show(message)
            return
        self._print(message)

    @contextmanager
    def verbatim(self) -> Iterator[Callable[[str], None]]:
        """Shows lines as they are, the runner reading no workflow command in them, between
        ``stop-commands`` and its token (a new random one each time)."""
        token = uuid.uuid4().hex
        if self.in_actions:
            self._print(format_command("stop-commands", token))
        try:
            yield self._print
        finally:
            if self.in_actions:
                self._print(format_command(token))

    def debug(self, message: str) -> None:
        if self.in_actions:
            self._print(format_command("debug", message))

    def annotate(self, annotation: Annotation) -> None:
        if self.in_actions:
            self._print(
                format_command(annotation.level.value, annotation.message, annotation.properties())
            )
            return
        label = self._paint(annotation.level.value, _COLOURS[annotation.level])
        where = annotation.location()
        title = f" [{annotation.title}]" if annotation.title else ""
        prefix = f"{where}: " if where else ""
        self._print(f"{label}: {prefix}{annotation.message}{title}")

    def error(self, message: str, *, title: str | None = None) -> None:
        self.annotate(Annotation(AnnotationLevel.ERROR, message, title=title))

    def warning(self, message: str, *, title: str | None = None) -> None:
        self.annotate(Annotation(AnnotationLevel.WARNING, message, title=title))

    def notice(self, message: str, *, title: str | None = None) -> None:
        self.annotate(Annotation(AnnotationLevel.NOTICE, message, title=title))

    def mask(self, secret: str) -> None:
        """Ask the runner to redact a secret; each line separately, as the runner matches lines."""
        if not self.in_actions:
            return
        for line in secret.splitlines():
            if line.strip():
                self._print(format_command("add-mask", line))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        if self.in_actions:
            self._print(format_command("group", title))
        else:
            self._print(self._paint(f"== {title}", _BOLD))
        try:
            yield
        finally:
            if self.in_actions:
                self._print(format_command("endgroup"))
