"""A long-running tool (pytest) as a subprocess: its output shown line by line as it comes,
stopped at a timeout or on Ctrl-C with every process it started, and its output read to the
end without waiting for ever on a process that escaped.
"""

from __future__ import annotations

import errno
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from shipline.ansi import plain
from shipline.errors import ToolFailedError
from shipline.interrupts import interrupt_held
from shipline.tools import PROCESS_GROUPS, ToolResult, kill_process, stop_process

TAIL_LINES = 200
# Once pytest has exited, how long to wait for more of its output after the last line came: a
# process that escaped its group (a daemon a test started in a session of its own) may hold the
# pipe open for ever. And how long such a process may keep writing before it is no longer read
# (what pytest wrote is all read from the pipe within moments of its exit, and always shown).
DRAIN_SECONDS = 2.0
DRAIN_LIMIT_SECONDS = 10.0
# Stopping pytest (Ctrl-C, an error, the timeout): SIGINT to its group first, as a terminal's
# Ctrl-C, so that it tears its fixtures down (containers, databases) and reports; what is still
# running this long after is killed.
STOP_GRACE_SECONDS = 5.0
OUTPUT_CUT = (
    "shipline: pytest's output is cut here: a process outside pytest's process group (one a "
    "test started in a session of its own, e.g. a daemon) holds it open"
)


class CommandTooLongError(ToolFailedError):
    """The operating system refused to start a command: its arguments are too long."""


class StreamTimeoutError(ToolFailedError):
    """The tool outlived its timeout and was stopped; ``output`` holds its last lines."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def stream(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    echo: Callable[[str], None],
    env: Mapping[str, str] | None = None,
) -> ToolResult:
    """Run a long tool with its output shown line by line as it comes (progress in the log).

    stdout and stderr arrive merged; the last lines are kept for error messages. The process,
    with every process it started, is stopped when it outlives ``timeout`` or when showing its
    output is interrupted (Ctrl-C): SIGINT first, SIGKILL what is left ``STOP_GRACE_SECONDS``
    later. Once it has exited, what its tests left running in its group is killed, and its
    output is shown to the end: a process outside the group may hold the pipe open long after,
    so the output is no longer waited for once nothing came for ``DRAIN_SECONDS`` (nor read
    ``DRAIN_LIMIT_SECONDS`` after the exit), and a line says it was cut.
    """
    tail: deque[str] = deque(maxlen=TAIL_LINES)

    def show(line: str) -> None:
        echo(line)
        tail.append(plain(line))  # the log shows colours; what is read must not hold them

    with interrupt_held() as release:
        process = _start(args, cwd=cwd, env=env)
        with (
            _reading(process) as (lines, stop),
            _stopped_when_interrupted(process, lines, stop, show),
        ):
            release()
            timed_out = _show_until_exit(process, lines, time.monotonic() + timeout, show)
            if timed_out:
                _stop_group(process)
            returncode = process.wait()
            _kill_group(process)  # what its tests left running: they hold the pipe, and time
            if not _drain(lines, stop, show):
                echo(OUTPUT_CUT)
    if timed_out:
        raise StreamTimeoutError(
            f"{Path(args[0]).name} did not finish within {timeout:g} s", "\n".join(tail)
        )
    return ToolResult(tuple(args), returncode, "\n".join(tail), "")


@contextmanager
def _reading(
    process: subprocess.Popen[str],
) -> Iterator[tuple[queue.Queue[str | None], threading.Event]]:
    """The process's output, line by line, read into a queue by a thread of its own (a blocking
    read cannot wait for a deadline); the event stops the reading."""
    lines: queue.Queue[str | None] = queue.Queue()
    stop = threading.Event()
    assert process.stdout is not None  # noqa: S101 - stdout=PIPE in _start
    threading.Thread(target=_read_lines, args=(process.stdout, lines, stop), daemon=True).start()
    try:
        yield lines, stop
    finally:
        stop.set()  # a process that escaped the group may keep writing: stop queueing it


@contextmanager
def _stopped_when_interrupted(
    process: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    stop: threading.Event,
    show: Callable[[str], None],
) -> Iterator[None]:
    """Ctrl-C, or an error while showing the output: stop the process, leave nothing behind.

    The output is still read meanwhile: pytest blocks on a full pipe, and would not finish.
    On Ctrl-C it is shown too: the teardown's output and pytest's report of where it stopped.
    """
    try:
        yield
    except KeyboardInterrupt:
        if process.poll() is None:
            _stop_group(process)
            process.wait()
        if not _drain(lines, stop, show):
            show(OUTPUT_CUT)
        raise
    finally:
        if process.poll() is None:
            _stop_group(process)
            process.wait()


def _start(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None
) -> subprocess.Popen[str]:
    name = Path(args[0]).name
    try:
        return subprocess.Popen(
            list(args),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            # a group of its own, led by its pid (POSIX): a timeout kills the processes its
            # tests started too, and those left behind once it exits
            start_new_session=PROCESS_GROUPS,
        )
    except OSError as error:
        if error.errno == errno.E2BIG:
            size = sum(len(a) + 1 for a in args)
            raise CommandTooLongError(
                f"{name} could not start: {len(args)} arguments, {size} bytes, are more than "
                "the system allows on a command line"
            ) from None
        raise ToolFailedError(f"{name} could not start: {error}") from None


def _read_lines(pipe: IO[str], lines: queue.Queue[str | None], stop: threading.Event) -> None:
    """Queue the output's lines; None once it has ended (not when the reading was stopped)."""
    try:
        for line in pipe:
            if stop.is_set():
                return
            lines.put(line.rstrip("\n"))
    finally:
        if not stop.is_set():
            lines.put(None)


def _show_until_exit(
    process: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    deadline: float,
    show: Callable[[str], None],
) -> bool:
    """Shows the output until the process exits; True: it was still running at the deadline."""
    while process.poll() is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        try:
            line = lines.get(timeout=min(left, 0.2))
        except queue.Empty:
            continue
        if line is None:  # the output ended first: wait for the exit, not longer than allowed
            lines.put(None)  # for _drain
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return True
            return False
        show(line)
    return False


def _drain(
    lines: queue.Queue[str | None], stop: threading.Event, show: Callable[[str], None]
) -> bool:
    """The output left once the process has exited: every line already read is shown (pytest
    prints its failures and summary in one burst at the end), then more is waited for until
    the output ends, ``DRAIN_SECONDS`` after the last line at most. False: it was given up while
    a process outside the group held the output open."""
    give_up = time.monotonic() + DRAIN_LIMIT_SECONDS
    while (left := give_up - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=min(DRAIN_SECONDS, left))
        except queue.Empty:
            return False
        if line is None:
            return True
        show(line)
    stop.set()  # a process outside the group keeps writing: show what was read, no more
    while True:
        try:
            line = lines.get_nowait()
        except queue.Empty:
            return False
        if line is None:
            return True
        show(line)


def _stop_group(process: subprocess.Popen[str]) -> None:
    """As a terminal's Ctrl-C: pytest tears its fixtures down and writes its report."""
    stop_process(process, own_group=PROCESS_GROUPS, grace=STOP_GRACE_SECONDS)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """What pytest's tests left running in its group (pytest itself, without groups)."""
    kill_process(process, own_group=PROCESS_GROUPS)
