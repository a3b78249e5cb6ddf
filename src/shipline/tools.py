"""Running external tools: found where the action's environment put them, bounded in time.

A tool that is missing, crashes or hangs raises an error that blocks the action; callers
decide from the report, never from the exit code alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from shipline.errors import ToolFailedError, ToolMissingError
from shipline.gha.inputs import InputError


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
    killed a moment later) when the waiting is interrupted, and killed when
    ``stop_running_tools`` is called from the main thread's interrupt.

    Without a terminal (CI) the tool gets a process group of its own, so that what it started
    stops with it. At a terminal it stays in shipline's group: a Ctrl-C there reaches it as it
    reaches shipline, and it may ask on the terminal (ssh's host key, gpg's passphrase), which
    a background group could not.
    """
    name = Path(args[0]).name
    own_group = not os.isatty(0)
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
    with _RUNNING_LOCK:
        _RUNNING.add(tool)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        tool.kill()
        process.wait()  # not its output: a process it started may hold the pipe
        raise ToolFailedError(f"{name} did not finish within {timeout:.0f} s") from None
    except BaseException:  # Ctrl-C or SIGTERM (cli)
        tool.stop()
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(tool)
    result = ToolResult(tuple(args), process.returncode, stdout, stderr)
    if process.returncode not in ok_codes:
        raise ToolFailedError(f"{name} failed with exit code {process.returncode}: {result.tail()}")
    return result


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
        """As a Ctrl-C at a terminal would (there it reached the tool already), then kill."""
        if self.own_group:
            signal_group(self.process, signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=TIDY_SECONDS)
        self.kill()
        self.process.wait()

    def kill(self) -> None:
        if self.own_group:
            signal_group(self.process, signal.SIGKILL)
        else:
            self.process.kill()


# Tools run_tool is waiting on, in any thread: the main thread's interrupt kills those of the
# other threads (a thread pool's workers get no KeyboardInterrupt, and the pool waits for them).
_RUNNING: set[_Tool] = set()
# reentrant: the interrupt's handler runs in the main thread, maybe while it holds the lock
_RUNNING_LOCK = threading.RLock()


def stop_running_tools() -> None:
    """Kill the tools other threads wait on; the calling thread's own tool is stopped by its
    run_tool, which gives it a moment to tidy up."""
    with _RUNNING_LOCK:
        others = [tool for tool in _RUNNING if tool.thread != threading.get_ident()]
    for tool in others:
        tool.kill()


def signal_group(process: subprocess.Popen[str], signum: signal.Signals) -> None:
    """``signum`` to the process group a process leads (started with ``process_group=0``)."""
    # ESRCH: no process is left in the group; EPERM: macOS, when only zombies are
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
