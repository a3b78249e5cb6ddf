"""Running external tools: found where the action's environment put them, bounded in time.

A tool that is missing, crashes or hangs raises an error that blocks the action; callers
decide from the report, never from the exit code alone. What an interrupt does to a running
tool is the business of ``shipline.interrupts``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from shipline.errors import ToolFailedError, ToolMissingError
from shipline.gha.inputs import InputError
from shipline.interrupts import (
    POLL_SECONDS,
    interrupt_held,
    raise_held_interrupt,
    register,
    stopping,
    unregister,
)

# Windows has none: there a tool is one process, killed alone
PROCESS_GROUPS = hasattr(os, "killpg")


@dataclass(frozen=True)
class ToolResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def tail(self, lines: int = 5) -> str:
        """The last lines of stderr (or stdout), for an error message that explains itself."""
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return " | ".join(text[-lines:]) if text else "no output"


def find_tool(name: str, install_hint: str) -> str:
    """The tool next to our interpreter first (the action's own venv), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolMissingError(name, install_hint)
    return found


def find_interpreter(value: str, workspace: Path, *, input_name: str = "python") -> Path:
    """A Python interpreter named by an input: a path (relative to the workspace) or a command.

    Unlike other path inputs it may live outside the workspace (a runner's tool cache) and
    is not resolved: a virtualenv's ``bin/python`` is a symlink whose target would lose the
    environment.
    """
    if "/" not in value:
        found = shutil.which(value)
        if found is None:
            raise InputError(input_name, value, "a Python interpreter on PATH or a path to one")
        return Path(found)
    candidate = Path(value) if Path(value).is_absolute() else workspace / value
    if not (candidate.is_file() and os.access(candidate, os.X_OK)):
        raise InputError(input_name, value, "an executable Python interpreter")
    return candidate


def run_tool(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    ok_codes: Sequence[int] = (0,),
    env: Mapping[str, str] | None = None,
) -> ToolResult:
    """Run a tool to its end; it is killed when it outlives ``timeout``, stopped (Ctrl-C, then
    killed a moment later) when the waiting is interrupted, and killed when the main thread's
    interrupt comes while another thread waits on it (interrupt_stops_tools).

    Without a terminal (CI) the tool gets a process group of its own, so that what it started
    stops with it. At a terminal it stays in shipline's group: a Ctrl-C there reaches it as it
    reaches shipline, and it may ask on the terminal (ssh's host key, gpg's passphrase), which
    a background group could not.
    """
    name = Path(args[0]).name
    own_group = PROCESS_GROUPS and not os.isatty(0)
    # The interrupt is held for the tool's whole life: its KeyboardInterrupt comes only where
    # the tool is stopped for it (between _communicate's polls), never between its start and
    # that code, nor inside the stopping.
    with interrupt_held():
        try:
            process = subprocess.Popen(
                list(args),
                cwd=cwd,
                stdin=subprocess.DEVNULL,  # no tool here reads an input: it gets none of shipline's
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=None if env is None else {**os.environ, **env},
                process_group=0 if own_group else None,
            )
        except OSError as error:
            raise ToolFailedError(f"{name} could not start: {error}") from None
        tool = _Tool(process, own_group, threading.get_ident())
        register(tool)
        try:
            stdout, stderr = _communicate(process, timeout, name)
        except subprocess.TimeoutExpired:
            tool.kill()
            process.wait()  # not its output: a process it started may hold the pipe
            raise ToolFailedError(f"{name} did not finish within {timeout:.0f} s") from None
        except BaseException:  # the held Ctrl-C or SIGTERM (interrupt_stops_tools)
            tool.stop()
            raise
        finally:
            unregister(tool)
    result = ToolResult(tuple(args), process.returncode, stdout, stderr)
    if process.returncode not in ok_codes:
        raise ToolFailedError(f"{name} failed with exit code {process.returncode}: {result.tail()}")
    return result


# How long another thread waits for a tool's output at a time: once the interrupt has killed the
# tool, a process it left in a session of its own may hold that output open for long.
OTHER_THREADS_POLL_SECONDS = 1.0


def _communicate(process: subprocess.Popen[str], timeout: float, name: str) -> tuple[str, str]:
    """The tool's output once it has ended; the last poll's TimeoutExpired past ``timeout``.

    The main thread, which runs the interrupt's handler, waits in short polls (POLL_SECONDS)
    and raises a held KeyboardInterrupt between them. Other threads poll less often (each poll
    that times out copies what came so far; polling again loses none), and stop waiting for the
    output of a tool the interrupt has killed.
    """
    main = threading.current_thread() is threading.main_thread()
    poll = POLL_SECONDS if main else OTHER_THREADS_POLL_SECONDS
    deadline = time.monotonic() + timeout
    while True:
        try:
            return process.communicate(timeout=min(poll, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            if main:
                raise_held_interrupt()
            elif stopping() and process.poll() is not None:
                raise ToolFailedError(f"{name} was stopped by the interrupt") from None
            if time.monotonic() >= deadline:
                raise


# How long an interrupted tool may take to tidy up (buildah removes its working container)
# before it is killed: well within the 7.5 s a cancelled GitHub run leaves between its SIGINT
# and its SIGTERM.
TIDY_SECONDS = 2.0


@dataclass(frozen=True)
class _Tool:
    process: subprocess.Popen[str]
    own_group: bool
    thread: int

    def stop(self) -> None:
        stop_process(self.process, own_group=self.own_group, grace=TIDY_SECONDS)
        self.process.wait()

    def kill(self) -> None:
        kill_process(self.process, own_group=self.own_group)


def stop_process(process: subprocess.Popen[str], *, own_group: bool, grace: float) -> None:
    """As a Ctrl-C at a terminal would (there it reached the process already): SIGINT to the
    process's group, and whatever still runs ``grace`` seconds later is killed. A second
    interrupt meanwhile waits: it would cut this short before the kill."""
    with interrupt_held():
        if own_group:
            signal_group(process, signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
        kill_process(process, own_group=own_group)


def kill_process(process: subprocess.Popen[str], *, own_group: bool) -> None:
    """Kill the process, and with a group of its own everything it started that is still in
    it (also once the process has been reaped: its pid is its group's id, which the system
    does not hand out again while a process of the group is left)."""
    if own_group:
        signal_group(process, signal.SIGKILL)
    else:
        process.kill()


def signal_group(process: subprocess.Popen[str], signum: signal.Signals) -> None:
    """``signum`` to the process group a process leads (started with ``process_group=0``)."""
    # ESRCH: no process is left in the group; EPERM: macOS, when only zombies are
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
