"""What an interrupt does to the tools shipline runs: SIGINT (Ctrl-C, a cancelled GitHub run's
first signal) and SIGTERM (its second, 7.5 s later; ``docker stop``; ``timeout``).

Tools that other threads wait on are killed at once. The main thread's KeyboardInterrupt is
raised where the code is ready for it: held (``interrupt_held``) where it would leave a tool
running or a lock taken, and raised at a safe point instead.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")


class RunningTool(Protocol):
    """A tool being waited on, by the thread ``thread``."""

    @property
    def thread(self) -> int: ...

    def kill(self) -> None: ...


# How long the main thread blocks at most while it waits: a signal delivered to another thread
# reaches the handler only once the main thread wakes.
POLL_SECONDS = 0.2

# Tools run_tool is waiting on, in any thread: the main thread's interrupt kills those of the
# other threads (a thread pool's workers get no KeyboardInterrupt, and the pool waits for them).
_RUNNING: set[RunningTool] = set()
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
    _INTERRUPT.stopping = True  # before the look at the running tools: see register
    _kill_other_threads_tools()
    if _INTERRUPT.holding:
        _INTERRUPT.pending = True
        return
    raise KeyboardInterrupt


@contextmanager
def interrupt_held() -> Iterator[Callable[[], None]]:
    """Hold the main thread's KeyboardInterrupt until ``release`` is called, the block ends,
    or code ready for it raises it (raise_held_interrupt); the handler still kills the other
    threads' tools at once. Raised between a tool's start and the code that stops it, it would
    leave the tool running; raised while a lock is being taken, it may leave the lock held."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None  # a KeyboardInterrupt is never raised in other threads
        return
    outer = _INTERRUPT.holding

    def release() -> None:
        _INTERRUPT.holding = outer
        if not outer:
            raise_held_interrupt()

    try:
        _INTERRUPT.holding = True  # inside the try: a signal just before it leaves nothing held
        yield release
    finally:
        release()


def raise_held_interrupt() -> None:
    """The held KeyboardInterrupt, raised at a point ready for it (main thread only)."""
    if _INTERRUPT.pending:
        _INTERRUPT.pending = False
        raise KeyboardInterrupt


def register(tool: RunningTool) -> None:
    """Known to the interrupt from now on; killed at once when it came already (the interrupt
    marks itself before it looks at the running tools, so no tool is missed by both)."""
    with _RUNNING_LOCK:
        _RUNNING.add(tool)
        late = _INTERRUPT.stopping and tool.thread != threading.main_thread().ident
    if late:
        tool.kill()


def unregister(tool: RunningTool) -> None:
    with _RUNNING_LOCK:
        _RUNNING.discard(tool)


def stopping() -> bool:
    """Whether an interrupt came in this interrupt_stops_tools block."""
    return _INTERRUPT.stopping


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
