"""Whether a process a test started (and that wrote its pid to a file) has ended.

Tests of timeouts and leftover processes give such a process far more time to live (60 s) than
the bound they check, and then ask whether it is gone, instead of asserting tight timings that
a busy CI machine would break.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

# A child that writes its pid to {pid_file!r}, optionally ignores SIGINT, and lives 60 s.
LONG_LIVED_CHILD = (
    "import os, pathlib, signal, time; {ignore}"
    "pathlib.Path({pid_file!r}).write_text(str(os.getpid())); time.sleep(60)"
)


def long_lived_child(pid_file: Path, *, ignores_interrupt: bool = False) -> str:
    ignore = "signal.signal(signal.SIGINT, signal.SIG_IGN); " if ignores_interrupt else ""
    return LONG_LIVED_CHILD.format(ignore=ignore, pid_file=str(pid_file))


def ended(pid_file: Path, within: float = 10.0) -> bool:
    """The process is gone (or a zombie nobody reaped yet) within ``within`` seconds.

    A pid file that never appears means the process was killed before it got that far.
    """
    deadline = time.monotonic() + within
    while not pid_file.exists():
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def group_ended(group: int, within: float = 10.0) -> bool:
    """No process but zombies is left in the process group within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_live_member(stat, group) for stat in Path("/proc").glob("[0-9]*/stat")):
            return True
        time.sleep(0.05)
    return False


def _live_member(stat: Path, group: int) -> bool:
    try:
        state, _, member_of = _stat_fields(stat)[:3]
    except (OSError, IndexError, ValueError):
        return False  # it ended while we looked
    return state != "Z" and int(member_of) == group


def end(pid_file: Path) -> None:
    """Kill the process if it is still running (cleanup for one that escaped on purpose)."""
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a killed process whose parent is gone may stay a zombie until init reaps it
        return _stat_fields(Path(f"/proc/{pid}/stat"))[0] != "Z"
    except (OSError, IndexError):
        return True


def _stat_fields(stat: Path) -> list[str]:
    """A process's state, parent, process group and so on: the fields of /proc/<pid>/stat
    after its command's name, which is in parentheses and may hold spaces."""
    return stat.read_text().rsplit(")", 1)[1].split()
