"""What pytest's output says when a run did not end as a run of tests should: which conftest
failed to load, which signal killed it and in which test, which option it refused, why no
JUnit report was written. pytest's exit code alone does not say; its output does, in formats
of its own, of faulthandler's and of plugins' (pytest-timeout).
"""

from __future__ import annotations

import itertools
import re
import signal
from collections.abc import Sequence
from pathlib import Path

from shipline.errors import ToolFailedError
from shipline.tools import ToolResult

# faulthandler's frames, which pytest prints when a signal kills it (no comma before "in",
# unlike a traceback's): most recent call first.
_FAULT_FRAME = re.compile(
    r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)\s*$'
)
# a traceback's frames, most recent call last: pytest-timeout's thread method prints them
# between two banners before it ends the process with os._exit
_TRACEBACK_FRAME = re.compile(
    r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)\s*$'
)
_TIMEOUT_BANNER = re.compile(r"\+{5,} Timeout \+{5,}")
# pytest's first line when a conftest.py raised while it was loaded (whatever the exception)
_CONFTEST_FAILED = re.compile(r"^ImportError while loading conftest '(?P<path>.+)'\.$")
# a test id as pytest -v prints it when the test starts: "tests/test_x.py::test_y "
_STARTED_TEST = re.compile(r"^(?P<nodeid>[^\s:][^\s]*?\.py::\S+)")
# the headings of pytest's sections after the run: not any "=== ... ===" line, which a test's
# own output (-s) may print
_SECTION = re.compile(
    r"^=+ (?:warnings summary|short test summary info|FAILURES|ERRORS|PASSES|XFAILURES|XPASSES"
    r"|slowest .*durations) =+$"
)
# where a test raised KeyboardInterrupt, as pytest prints it below "!!! KeyboardInterrupt !!!"
_KEYBOARD_INTERRUPT = re.compile(r"^(?P<path>\S+):(?P<line>\d+): KeyboardInterrupt$")
# pytest's banner when something stopped the session: "!!! Interrupted: 1 error during
# collection !!!", "!!! _pytest.outcomes.Exit: why !!!", "!!! xdist.dsession.Interrupted: ... !!!"
_STOPPED = re.compile(r"^!+ (?P<what>(?:[\w.]+\.)?(?:Interrupted|Exit)): (?P<why>.*?) !+$")


def pytest_missing(output: str) -> bool:
    """``python -m pytest`` said only that there is no pytest (a test's output may say more)."""
    lines = output.strip().splitlines()
    return bool(lines) and lines[-1].endswith("No module named pytest")


def collection_problem(stdout: str) -> str:
    errors = [line for line in stdout.splitlines() if line.startswith(("ERROR ", "E "))]
    return " | ".join(errors[:5])


def conftest_not_imported(result: ToolResult, directory: Path) -> ToolFailedError | None:
    """A conftest.py that raised while pytest imported it (a missing dependency, a syntax
    error): pytest exits 4 then, as for options it refuses, but the environment is broken, not
    the inputs. One line naming the file, the line when pytest shows it, and the error; None
    when pytest did not say so.
    """
    lines = result.stdout.splitlines()
    found = next((m for line in lines if (m := _CONFTEST_FAILED.match(line))), None)
    if found is None:
        return None
    path = Path(found["path"])
    shown = _shown(path, directory)
    traceback = lines[lines.index(found.string) + 1 :]
    errors = [line[1:].strip() for line in traceback if line.startswith("E ")]
    return ToolFailedError(
        f"pytest could not load {shown}{_conftest_line(traceback, path, shown)}: "
        f"{errors[-1] if errors else result.tail(1)}"
    )


def conftest_hook_failed(result: ToolResult, directory: Path) -> ToolFailedError | None:
    """A conftest.py whose hook raised before pytest could report it (a ``pytest_addoption``
    that adds an option a plugin has, say): Python's own traceback, ending the run before any
    collection, with the conftest's frame in it. Only for a run that never collected and did
    not exit 4: a traceback a hook logged and lived on reads the same.
    """
    lines = result.stdout.splitlines()
    started = [n for n, line in enumerate(lines) if line == "Traceback (most recent call last):"]
    if not started:
        return None
    stack = list(itertools.takewhile(lambda line: line.startswith(" "), lines[started[-1] + 1 :]))
    rest = [line for line in lines[started[-1] + 1 + len(stack) :] if line.strip()]
    frames = [
        m
        for line in stack
        if (m := _TRACEBACK_FRAME.match(line)) and Path(m["path"]).name == "conftest.py"
    ]
    if not frames or not rest:
        return None
    error = rest[0]  # the exception's first line: its message may run over more
    path = Path(frames[-1]["path"])
    shown = _shown(path, directory)
    return ToolFailedError(f"pytest could not load {shown}:{frames[-1]['line']}: {error.strip()}")


def _conftest_line(traceback: Sequence[str], path: Path, shown: str) -> str:
    """``:12`` for where the conftest failed: its frame in the traceback ("tests/conftest.py:12:
    in <module>"), or a syntax error's "File ..., line 12"; empty when neither is there."""
    for line in traceback:
        found = re.match(rf"^{re.escape(shown)}:(\d+): ", line) or re.match(
            rf'^E\s+File "{re.escape(str(path))}", line (\d+)', line
        )
        if found:
            return f":{found[1]}"
    return ""


def usage_problem(result: ToolResult) -> str:
    """pytest's own error line: argparse's "error: ..." or pytest's "ERROR: ..."."""
    lines = [line.strip() for line in result.stdout.splitlines()]
    for line in lines:
        if ": error: " in line:
            return line
    for line in lines:
        if line.startswith("ERROR:"):
            return line
    return result.tail()


def killed(result: ToolResult, directory: Path) -> str:
    """Which signal killed pytest, and in which test when its output says so."""
    try:
        name = signal.Signals(-result.returncode).name
    except ValueError:
        name = f"signal {-result.returncode}"
    frame = _faulting_frame(result.stdout, directory)
    started = last_started(result.stdout)
    if frame:
        where = f" in {frame}"
    elif started:
        where = f" while running {started}"
    else:
        where = "; its output does not say in which test"
    # SIGKILL is what the kernel's out-of-memory killer sends
    hint = " (out of memory?)" if name == "SIGKILL" else ""
    return f"pytest was killed by {name}{hint}{where}"


def _faulting_frame(output: str, directory: Path) -> str | None:
    """Where the test was when pytest died, in the stack faulthandler prints on a fatal signal:
    the test function's frame, else the first frame in the project's own code (a fixture)."""
    lines = output.splitlines()
    # with several threads faulthandler prints each; the one that crashed is "Current thread"
    current = [n for n, line in enumerate(lines) if "Current thread" in line]
    frames = [
        m for line in lines[current[-1] if current else 0 :] if (m := _FAULT_FRAME.match(line))
    ]
    return _test_frame(frames, directory)


def _test_frame(frames: Sequence[re.Match[str]], directory: Path) -> str | None:
    """In a stack, most recent call first: the test function's frame, else the first frame in
    the project's own code (a fixture)."""
    for frame, caller in itertools.pairwise(frames):
        if caller["function"] == "pytest_pyfunc_call":  # pytest calls the test function itself
            return _frame_text(frame, directory)
    for frame in frames:  # e.g. in a fixture: the first frame in the project's own code
        path = Path(frame["path"])
        if path.is_relative_to(directory) and not {"site-packages", "dist-packages"} & set(
            path.parts
        ):
            return _frame_text(frame, directory)
    return None


def _frame_text(frame: re.Match[str], directory: Path) -> str:
    path = Path(frame["path"])
    shown = _shown(path, directory)
    return f"{frame['function']} at {shown}:{frame['line']}"


def last_started(output: str) -> str | None:
    """The last test id pytest printed as it started the test (with -v): in the run's progress,
    not in the summaries after it (the warnings summary names tests too)."""
    started = None
    for line in output.splitlines():
        if started is not None and _SECTION.match(line):
            break
        if m := _STARTED_TEST.match(line):
            started = m["nodeid"]
    return started


def interruption(output: str, directory: Path) -> str | None:
    """Why pytest stopped a run it had collected (exit code 2), in its own words; None for a
    collection error, which also stops it so (and pytest-xdist's -x: ``stopped_on_failures``)."""
    lines = output.splitlines()
    raised = [m for line in lines if (m := _KEYBOARD_INTERRUPT.match(line))]
    if raised:
        where = f"{_shown(Path(raised[-1]['path']), directory)}:{raised[-1]['line']}"
        return f"a test raised KeyboardInterrupt ({where})"
    stops = [m for line in lines if (m := _STOPPED.match(line))]
    if not stops or "during collection" in stops[-1]["why"]:
        return None
    what, why = stops[-1]["what"], stops[-1]["why"]
    if what.endswith("Exit"):
        return f"pytest.exit() was called: {why}"
    return why


def stopped_on_failures(output: str) -> bool:
    """Whether pytest-xdist's -x or --maxfail ended the run (exit code 2, where pytest alone
    exits 1): its report holds the failures that stopped it."""
    stops = [m for line in output.splitlines() if (m := _STOPPED.match(line))]
    # xdist's Interrupted, not a pytest.exit() whose reason happens to read so
    return (
        bool(stops)
        and stops[-1]["what"].endswith("Interrupted")
        and stops[-1]["why"].startswith("stopping after")
    )


def no_report(result: ToolResult, directory: Path) -> str:
    """Why pytest may have ended without its JUnit report, from what it printed."""
    said = f"pytest exited with code {result.returncode} without writing its JUnit report"
    if _TIMEOUT_BANNER.search(result.stdout):
        frames = [m for line in result.stdout.splitlines() if (m := _TRACEBACK_FRAME.match(line))]
        frame = _test_frame(frames[::-1], directory)
        return (
            f"{said}: pytest-timeout's thread method ended the process"
            + (f" in {frame}" if frame else "")
            + " (--timeout-method=signal fails just the test)"
        )
    running = last_started(result.stdout)
    return f"{said} (did a test call os._exit?)" + (
        f"; the last test it started: {running}" if running else ""
    )


def _shown(path: Path, directory: Path) -> str:
    """A path as the project's people know it: relative to the project when it lies inside."""
    return path.relative_to(directory).as_posix() if path.is_relative_to(directory) else str(path)
