"""The errors every action shares, and the exit code each one means."""

from __future__ import annotations


class ShiplineError(Exception):
    """Base of errors that end an action with a clear one-line message."""

    exit_code = 1


class UsageError(ShiplineError):
    """Bad input: nothing was done. Exit 2."""

    exit_code = 2


class FileLineError(UsageError):
    """An input file we cannot trust: names the kind of file, the file and the line."""

    kind = "file"

    def __init__(self, path: object, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{self.kind} {where}: {reason}")
        self.path = str(path)
        self.line = line


class ToolMissingError(UsageError):
    """An external tool is not installed; the message says how to install it."""

    def __init__(self, tool: str, how: str) -> None:
        super().__init__(f"{tool} is not installed: {how}")
        self.tool = tool


class ToolFailedError(ShiplineError):
    """A tool crashed, timed out or printed a report we cannot read: the gate blocks."""
