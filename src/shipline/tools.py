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
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from shipline.errors import ToolFailedError, ToolMissingError
from shipline.gha.inputs import InputError

# Windows has none: there a tool is one process, killed alone
PROCESS_GROUPS = hasattr(os, "killpg")

T = TypeVar("T")


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
        _register(tool)
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
            with _RUNNING_LOCK:
                _RUNNING.discard(tool)
    result = ToolResult(tuple(args), process.returncode, stdout, stderr)
    if process.returncode not in ok_codes:
        raise ToolFailedError(f"{name} failed with exit code {process.returncode}: {result.tail()}")
    return result


# How long the main thread blocks at most while it waits: a signal delivered to another thread
# reaches the handler only once the main thread wakes.
POLL_SECONDS = 0.2
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
                _raise_held_interrupt()
            elif _INTERRUPT.stopping and process.poll() is not None:
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
        """As a Ctrl-C at a terminal would (there it reached the tool already), then kill; a
        second interrupt waits, or it would cut this short before the kill."""
        with interrupt_held():
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


@dataclass
class _Interrupt:
    """What interrupt_stops_tools' handler has seen, and what it must leave for later."""

    stopping: bool = False  # it came: a tool another thread starts now is killed at once
    holding: bool = False  # the main thread is where a KeyboardInterrupt would do harm: it waits
    pending: bool = False  # it came while holding


_INTERRUPT = _Interrupt()


_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupt_stops_tools() -> Iterator[None]:
    """SIGTERM stops an action as Ctrl-C does, and both first kill every tool run_tool is
    waiting on (in a thread pool too), with what each started: nothing is left running. A
    cancelled GitHub run sends SIGINT, then SIGTERM 7.5 s later; ``docker stop`` and
    ``timeout`` send SIGTERM alone, on which Python would end at once and orphan the tools.
    test-matrix stops pytest itself, gently (its fixtures are torn down)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    _INTERRUPT.stopping = _INTERRUPT.pending = False
    # the handlers change while the interrupt is held: a signal that comes meanwhile is raised
    # inside the block (at release) or once they are back
    with interrupt_held() as release:
        before = {signum: signal.signal(signum, _interrupted) for signum in _STOPPING_SIGNALS}
        try:
            release()
            yield
        finally:
            with interrupt_held():
                # SIGINT's last: once it is put back, a SIGINT raises at once, held or not
                for signum, handler in reversed(before.items()):
                    signal.signal(signum, handler)
                _INTERRUPT.stopping = False


def _interrupted(signum: int, frame: object) -> None:
    _INTERRUPT.stopping = True  # before the look at the running tools: see _register
    _kill_other_threads_tools()
    if _INTERRUPT.holding:
        _INTERRUPT.pending = True
        return
    raise KeyboardInterrupt


@contextmanager
def interrupt_held() -> Iterator[Callable[[], None]]:
    """Hold the main thread's KeyboardInterrupt until ``release`` is called, the block ends,
    or code ready for it raises it (_raise_held_interrupt); the handler still kills the other
    threads' tools at once. Raised between a tool's start and the code that stops it, it would
    leave the tool running; raised while a lock is being taken, it may leave the lock held."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None  # a KeyboardInterrupt is never raised in other threads
        return
    outer = _INTERRUPT.holding

    def release() -> None:
        _INTERRUPT.holding = outer
        if not outer:
            _raise_held_interrupt()

    try:
        _INTERRUPT.holding = True  # inside the try: a signal just before it leaves nothing held
        yield release
    finally:
        release()


def _raise_held_interrupt() -> None:
    """The held KeyboardInterrupt, raised at a point ready for it (main thread only)."""
    if _INTERRUPT.pending:
        _INTERRUPT.pending = False
        raise KeyboardInterrupt


def _register(tool: _Tool) -> None:
    """Known to the interrupt from now on; killed at once when it came already (the interrupt
    marks itself before it looks at the running tools, so no tool is missed by both)."""
    with _RUNNING_LOCK:
        _RUNNING.add(tool)
        stopping = _INTERRUPT.stopping and tool.thread != threading.main_thread().ident
    if stopping:
        tool.kill()


def _kill_other_threads_tools() -> None:
    """Kill the tools other threads wait on; the calling thread's own tool is stopped by its
    run_tool, which gives it a moment to tidy up."""
    with _RUNNING_LOCK:
        others = [tool for tool in _RUNNING if tool.thread != threading.get_ident()]
    for tool in others:
        tool.kill()


def in_threads(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run each call in a thread of its own; their results, in order.

    The main thread waits in short polls, so that an interrupt reaches its handler (which kills
    the threads' tools) at once. The KeyboardInterrupt is held until every thread has ended:
    a thread still running once the interrupt_stops_tools block ended could start a tool
    nobody would stop.
    """
    with interrupt_held(), ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]  # held here too: a thread starts
        while wait(futures, timeout=POLL_SECONDS).not_done:
            pass
    return [future.result() for future in futures]


def signal_group(process: subprocess.Popen[str], signum: signal.Signals) -> None:
    """``signum`` to the process group a process leads (started with ``process_group=0``)."""
    # ESRCH: no process is left in the group; EPERM: macOS, when only zombies are
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
