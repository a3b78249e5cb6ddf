"""Adapter: the user's pytest, run with the user's interpreter in the project directory.

pytest belongs to the project under test, not to shipline's environment, so every call goes
through ``python -m pytest`` of the interpreter the project's tests use. Results are read from
the JUnit XML report, never from the exit code alone.
"""

from __future__ import annotations

import errno
import functools
import itertools
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from shipline.errors import ShiplineError, ToolFailedError, ToolMissingError, UsageError
from shipline.testmatrix import coverage_merge, sharding
from shipline.testmatrix.junit import read_report
from shipline.testmatrix.report import Split
from shipline.testmatrix.results import Outcome, TestResult
from shipline.tools import ToolResult, run_tool

# pytest's exit codes: 0 passed, 1 tests failed, 5 nothing collected; the rest mean the run
# itself broke (2 interrupted or collection errors, 3 internal error, 4 usage error).
PYTEST_RAN = (0, 1)
NO_TESTS = 5
USAGE_ERROR = 4
RERUNFAILURES_FLAKY = 7  # pytest-rerunfailures' --fail-on-flaky; pytest itself stops at 5
TAIL_LINES = 200
# POSIX (Linux, macOS): pytest runs in a process group of its own, so that a timeout kills the
# processes its tests started too, and those left behind once it exits. Windows has none.
PROCESS_GROUPS = hasattr(os, "killpg")
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
# pytest reads arguments from a file named with a leading "@" since 8.2. A shard's node ids go
# there: thousands of them overflow a command line (2 MB on Linux, 32 KB on Windows).
ARGUMENT_FILES_SINCE = (8, 2)
# The pytest plugin that picks a shard's tests inside the run (it imports pytest, so shipline
# never imports it), the name it is loaded under, and its option (defined there).
_PLUGIN = Path(__file__).with_name("shard_plugin.py")
_SHARDING = Path(__file__).with_name("sharding.py")
PLUGIN_MODULE = "_shipline_shard_plugin"
# The scratch directory is on the tests' PYTHONPATH, ahead of site-packages: only names no
# project would import may live there.
SHARDING_COPY = "_shipline_sharding.py"
PLUGIN_OPTION = "--shipline-shard"
COLLECT_OPTION = "--shipline-collect"
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


class CommandTooLongError(ToolFailedError):
    """The operating system refused to start a command: its arguments are too long."""


@dataclass(frozen=True)
class Project:
    directory: Path
    python: str
    paths: tuple[str, ...]  # where to collect; empty: the project's testpaths
    options: tuple[str, ...]  # -m/-k and other pytest options, for collection and runs
    timeout: float


@dataclass(frozen=True)
class Attempt:
    results: list[TestResult]
    seconds: float
    returncode: int


@dataclass(frozen=True)
class ShardRequest:
    shards: int
    shard: int  # 1-based
    seconds: Mapping[str, float]  # the durations history the plan used
    skipped: Collection[str]
    keep_together: str  # one of sharding.KEEP_TOGETHER


@dataclass(frozen=True)
class Selection:
    """What the plugin collected and chose for the shard."""

    collected: int
    shards: int  # the plan's shard count: fewer than asked when fewer tests were collected
    tests: tuple[str, ...]
    seconds: float  # the plan's estimate for this shard
    unknown: int  # collected tests without a stored duration (given the median, or 1 s)
    # keep_together "module" from a history: of the modules the history knows, how many this
    # shard owns (it collected only those, the others were left unimported) and how many there
    # are, and how many modules new to the history it collected; None: it collected everything
    modules: tuple[int, int, int] | None = None
    chosen: int = 0  # tests chosen for the shard before any later deselection
    split: Split | None = None  # what the share was split from, for merge to compare

    @property
    def estimated(self) -> str:
        """The estimate in words; none at all before any test of the layer was measured."""
        if self.unknown >= self.collected:
            return sharding.UNMEASURED
        return f"estimated {self.seconds:.1f} s for its tests"


@dataclass(frozen=True)
class ShardRun:
    selection: Selection
    attempt: Attempt | None  # None: pytest had nothing to run (see selection)


def default_python(project: Path) -> str:
    """The project's own virtual environment when it has one, else ``python3`` on PATH."""
    for candidate in (project / ".venv" / "bin" / "python", project / "venv" / "bin" / "python"):
        if candidate.is_file():
            return str(candidate)
    return "python3"


def resolve_python(value: str, project: Path, workspace: Path) -> str:
    """A path (relative ones from the workspace, like every path input) or a command name."""
    if not value:
        value = default_python(project)
    path = Path(value)
    if "/" in value:
        candidate = path if path.is_absolute() else workspace / path
        if not candidate.is_file():
            raise UsageError(f"input 'python' got '{value}': expected an existing interpreter")
        return str(candidate)
    found = shutil.which(value)
    if found is None:
        raise UsageError(f"input 'python' got '{value}': expected an interpreter on PATH")
    return found


def check_coverage(project: Project) -> None:
    probe = run_tool(
        [project.python, "-c", "import coverage"],
        cwd=project.directory,
        timeout=120,
        ok_codes=range(256),
    )
    if probe.returncode != 0:
        raise ToolMissingError(
            f"coverage.py (for {project.python})",
            "install it in the project's test environment, e.g. "
            f"`{project.python} -m pip install coverage`, or set coverage: false",
        )


def _base_args(project: Project) -> list[str]:
    return [project.python, "-m", "pytest", f"--rootdir={project.directory}"]


def collect(project: Project) -> list[str]:
    """Node ids of the selected layer, in pytest's order; a collection error blocks.

    The plugin writes them to a file: pytest's own listing changes with the project's
    verbosity (``addopts = -q`` lists files), with ``-s`` (prints) and ``-v`` (a tree).
    """
    with _plugin_scratch("shipline-collect-") as (scratch, env):
        answer = scratch / "collected.json"
        # no -q: the answer is the plugin's file, not pytest's listing, and "-p no:terminal"
        # in the project's options takes -q away
        result = _stream_pytest(
            [
                *_base_args(project),
                "-p",
                PLUGIN_MODULE,
                f"{COLLECT_OPTION}={answer}",
                "--collect-only",
                *project.options,
                *project.paths,
            ],
            project,
            echo=lambda line: None,  # a listing of every test: not worth a log
            env=env,
        )
        collected = _read_answer(answer)
    if _pytest_missing(result.stdout):
        raise _no_pytest(project.python)
    if result.returncode == NO_TESTS:
        return []
    if result.returncode == USAGE_ERROR:
        raise _broken_conftest(result, project.directory) or _refused_options(result)
    if collected is not None and collected["errors"]:
        raise _could_not_collect(result, collected["errors"])
    if result.returncode != 0:
        broken = _broken_conftest(result, project.directory)
        if broken is not None:
            raise broken
        reason = _killed(result, project) if result.returncode < 0 else None
        raise ToolFailedError(
            reason
            or f"pytest could not collect the tests (exit code {result.returncode}): "
            f"{_collection_problem(result.stdout) or result.tail()}"
        )
    if collected is None:
        raise ToolFailedError(f"pytest collected without shipline's plugin: {result.tail()}")
    return [str(test) for test in collected["tests"]]


@contextmanager
def _plugin_scratch(prefix: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """A scratch directory holding shard_plugin.py and sharding.py, and an environment in which
    ``-p`` finds the plugin there."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        for source, copy in ((_PLUGIN, f"{PLUGIN_MODULE}.py"), (_SHARDING, SHARDING_COPY)):
            shutil.copyfile(source, Path(name) / copy)
        inherited = os.environ.get("PYTHONPATH")
        path = os.pathsep.join([name, inherited] if inherited else [name])
        yield Path(name), {**os.environ, "PYTHONPATH": path}


def _read_answer(path: Path) -> dict[str, Any] | None:
    """What the plugin wrote; None when it never got to (pytest stopped before, or the
    plugin was not loaded)."""
    if not path.is_file():
        return None
    answer: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return answer


def _pytest_missing(output: str) -> bool:
    """``python -m pytest`` said only that there is no pytest (a test's output may say more)."""
    lines = output.strip().splitlines()
    return bool(lines) and lines[-1].endswith("No module named pytest")


def _no_pytest(python: str) -> ToolMissingError:
    return ToolMissingError(
        f"pytest (for {python})",
        f"install it in the project's test environment, e.g. `{python} -m pip install pytest`",
    )


def _collection_problem(stdout: str) -> str:
    errors = [line for line in stdout.splitlines() if line.startswith(("ERROR ", "E "))]
    return " | ".join(errors[:5])


def _could_not_collect(result: ToolResult, errors: Sequence[Mapping[str, str]]) -> ToolFailedError:
    """The modules the plugin saw fail to collect, each with its error."""
    shown = " | ".join(f"{e['nodeid']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return ToolFailedError(
        f"pytest could not collect the tests (exit code {result.returncode}): {shown}{more}"
    )


def _refused_options(result: ToolResult) -> UsageError:
    """pytest's usage error (exit code 4) at collection: the options it was given are wrong."""
    return UsageError(
        f"pytest refused its options (exit code {USAGE_ERROR}): {_usage_problem(result)}; "
        "check the inputs 'markers', 'args' and 'paths' (and the project's pytest addopts, "
        "conftest.py files and plugins)"
    )


def _refused_rerun(result: ToolResult) -> ToolFailedError:
    """The options were accepted by the first run: a usage error now is about the test ids."""
    return ToolFailedError(
        f"pytest could not rerun the failed tests (exit code {USAGE_ERROR}): "
        f"{_usage_problem(result)}"
    )


def _broken_conftest(result: ToolResult, directory: Path) -> ToolFailedError | None:
    """A conftest.py that raised while pytest loaded it (a missing dependency, a syntax
    error): pytest exits 4 then too, but the environment is broken, not the inputs. One line
    naming the file, the line when pytest shows it, and the error; None for anything else.
    """
    lines = result.stdout.splitlines()
    found = next((m for line in lines if (m := _CONFTEST_FAILED.match(line))), None)
    if found is None:
        return _conftest_in_traceback(lines, directory)
    path = Path(found["path"])
    shown = path.relative_to(directory).as_posix() if path.is_relative_to(directory) else str(path)
    traceback = lines[lines.index(found.string) + 1 :]
    errors = [line[1:].strip() for line in traceback if line.startswith("E ")]
    return ToolFailedError(
        f"pytest could not load {shown}{_conftest_line(traceback, path, shown)}: "
        f"{errors[-1] if errors else result.tail(1)}"
    )


def _conftest_in_traceback(lines: Sequence[str], directory: Path) -> ToolFailedError | None:
    """A conftest.py whose hook raised before pytest could report it (a ``pytest_addoption``
    that adds an option a plugin has, say): Python's own traceback, the conftest's frame in it,
    the exception on its last line."""
    started = [n for n, line in enumerate(lines) if line == "Traceback (most recent call last):"]
    if not started:
        return None
    # the traceback must be what ended pytest: frames and their source lines to the end, then
    # the exception; a traceback a test or hook logged and lived on is followed by more
    block = [line for line in lines[started[-1] + 1 :] if line.strip()]
    if len(block) < 2 or not all(line.startswith(" ") for line in block[:-1]):
        return None
    error = block[-1]
    frames = [
        m
        for line in block
        if (m := _TRACEBACK_FRAME.match(line)) and Path(m["path"]).name == "conftest.py"
    ]
    if not frames or error.startswith(" "):
        return None
    path = Path(frames[-1]["path"])
    shown = path.relative_to(directory).as_posix() if path.is_relative_to(directory) else str(path)
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


def _usage_problem(result: ToolResult) -> str:
    """pytest's own error line: argparse's "error: ..." or pytest's "ERROR: ..."."""
    lines = [line.strip() for line in result.stdout.splitlines()]
    for line in lines:
        if ": error: " in line:
            return line
    for line in lines:
        if line.startswith("ERROR:"):
            return line
    return result.tail()


def run(
    project: Project,
    nodeids: Sequence[str],
    report: Path,
    *,
    echo: Callable[[str], None],
    coverage_data: Path | None = None,
) -> Attempt:
    """Run exactly ``nodeids`` (a rerun of failed tests) and read the JUnit report."""
    with tempfile.TemporaryDirectory(prefix="shipline-nodeids-") as scratch:
        if reads_argument_files(project.python, project.directory):
            listed = Path(scratch) / "nodeids.txt"
            listed.write_text("".join(f"{n}\n" for n in nodeids), encoding="utf-8")
            selection = [f"@{listed}"]
        else:
            selection = list(nodeids)
        try:
            result, seconds = _pytest(
                project, selection, report, echo=echo, coverage_data=coverage_data
            )
        except CommandTooLongError as error:
            raise ToolFailedError(
                f"{error}: the {len(nodeids)} test ids do not fit on pytest's command line; "
                "pytest 8.2 or newer reads them from a file (upgrade pytest in the project's "
                "test environment), or use more shards"
            ) from None
    _check_completed(result, project, _refused_rerun)
    return _attempt(result, report, nodeids, seconds, project.directory)


def run_shard(
    project: Project,
    request: ShardRequest,
    report: Path,
    *,
    echo: Callable[[str], None],
    coverage_data: Path | None = None,
) -> ShardRun:
    """Collect the layer and run this shard's share of it, in one pytest process.

    shard_plugin.py computes the share from pytest's own collection, so the tests are
    collected once; it answers with what it chose, which the report is then read against.
    """
    with _plugin_scratch("shipline-shard-") as (scratch, env):
        answer, reruns = scratch / "answer.json", scratch / "reruns.json"
        (scratch / "request.json").write_text(
            json.dumps(
                {
                    "sharding": str(scratch / SHARDING_COPY),
                    "shards": request.shards,
                    "shard": request.shard,
                    "seconds": dict(request.seconds),
                    "skipped": sorted(request.skipped),
                    "keep_together": request.keep_together,
                    "paths": list(project.paths),
                    "answer": str(answer),
                    "reruns": str(reruns),
                    "coverage": coverage_data is not None,
                }
            ),
            encoding="utf-8",
        )
        selection = [
            "-p",
            PLUGIN_MODULE,
            f"{PLUGIN_OPTION}={scratch / 'request.json'}",
            *project.paths,
        ]
        # Without a configured source coverage.py measures every file that runs: the plugin
        # would count in the project's total, then be missing when the merge reports. A
        # command-line --omit replaces the configured one, so the project's patterns go too
        # (they cannot contain commas: coverage splits the option on them).
        omit = []
        if coverage_data is not None:
            patterns = [*coverage_merge.omit_patterns(project.directory), f"{scratch}/*"]
            omit = [f"--omit={','.join(patterns)}"]
        result, seconds = _pytest(
            project,
            selection,
            report,
            echo=echo,
            coverage_data=coverage_data,
            coverage_options=omit,
            env=env,
        )
        chosen = _read_answer(answer)
        reran = _read_answer(reruns)
    if chosen is None:
        broken = _broken_conftest(result, project.directory)
        if broken is not None:
            raise broken
        if result.returncode != NO_TESTS:
            _check_completed(result, project, _refused_options)
        raise ToolFailedError(
            f"pytest ran without shipline's shard plugin (exit code {result.returncode}): "
            f"{result.tail()}"
        )
    if chosen["errors"]:
        # also with --continue-on-collection-errors, which would run the rest: a module that
        # cannot be imported is not a test that failed, and there is nothing to rerun
        raise _could_not_collect(result, chosen["errors"])
    tests = tuple(str(t) for t in chosen["tests"])
    selected = Selection(
        int(chosen["collected"]),
        int(chosen["shards"]),
        tests,
        float(chosen["seconds"]),
        int(chosen["unknown"]),
        None if chosen["modules"] is None else _module_counts(chosen["modules"]),
        int(chosen.get("chosen", len(tests))),
        _split(chosen["split"], chosen["share"], tests),
    )
    if result.returncode == NO_TESTS:
        if not selected.tests:
            return ShardRun(selected, None)
        raise _stopped_after_choosing(result, selected)
    # pytest accepted the options: the plugin answered after collection
    _check_completed(result, project, functools.partial(_stopped_after_choosing, chosen=selected))
    attempt = _attempt(result, report, selected.tests, seconds, project.directory)
    if reran is None:
        raise ToolFailedError(
            "pytest finished without shipline's plugin saying which tests a plugin reran "
            f"(exit code {result.returncode}): {result.tail(1)}"
        )
    return ShardRun(selected, _flaky_on_plugin_reruns(attempt, reran["tests"]))


def _split(split: Mapping[str, Any], share: Sequence[str], tests: Sequence[str]) -> Split:
    """The plugin's record of what it split, with the tests of the share that a plugin
    deselected after the choice (they are the shard's, and did not run)."""
    ran = set(tests)
    deselected = tuple(t for t in share if t not in ran)
    return Split(str(split["basis"]), int(split["count"]), str(split["sha256"]), deselected)


def _flaky_on_plugin_reruns(attempt: Attempt, reruns: Mapping[str, Mapping[str, Any]]) -> Attempt:
    """A test that passed only after a plugin (pytest-rerunfailures) ran it again is flaky:
    its report shows only the last attempt. One that failed every time stays failed; one that
    was skipped on the rerun failed, as shipline's own reruns judge it (a skip is no pass).
    Each with its attempts."""
    results = []
    for result in attempt.results:
        rerun = reruns.get(result.nodeid)
        if rerun is not None:
            first = str(rerun["message"])
            message = {
                Outcome.PASSED: result.message or first,
                Outcome.SKIPPED: f"failed ({first}), then skipped on a rerun: {result.message}",
            }.get(result.outcome, result.message)
            outcome = {Outcome.PASSED: Outcome.FLAKY, Outcome.SKIPPED: Outcome.FAILED}.get(
                result.outcome, result.outcome
            )
            attempts = 1 + int(rerun["reruns"])
            result = replace(result, outcome=outcome, attempts=attempts, message=message)
        results.append(result)
    return replace(attempt, results=results)


def _stopped_after_choosing(result: ToolResult, chosen: Selection) -> ToolFailedError:
    """Exit code 5 (no tests) or 4 (usage error) once the plugin had chosen the shard's tests:
    not what pytest says these codes mean, so something in the run asked for them."""
    meaning = {NO_TESTS: " (no tests)", USAGE_ERROR: " (usage error)"}.get(result.returncode, "")
    return ToolFailedError(
        f"pytest stopped with exit code {result.returncode}{meaning} after selecting "
        f"{len(chosen.tests)} test(s) for this shard: did a test or conftest call "
        f"pytest.exit(returncode={result.returncode})? {result.tail(1)}"
    )


def _module_counts(numbers: list[int]) -> tuple[int, int, int]:
    owned, known, new = (int(n) for n in numbers)
    return owned, known, new


def _pytest(
    project: Project,
    selection: Sequence[str],
    report: Path,
    *,
    echo: Callable[[str], None],
    coverage_data: Path | None,
    coverage_options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> tuple[ToolResult, float]:
    """One pytest run writing ``report``; its result and wall time."""
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    prefix = _base_args(project)
    if coverage_data is not None:
        prefix = [
            project.python,
            "-m",
            "coverage",
            "run",
            "--parallel-mode",
            f"--data-file={coverage_data}",
            *coverage_options,
            "-m",
            "pytest",
            f"--rootdir={project.directory}",
        ]
    args = [
        *prefix,
        f"--junitxml={report}",
        # xunit1 keeps file and line on each test case, for annotations on the right line
        "-o",
        "junit_family=xunit1",
        "-o",
        "junit_duration_report=total",
        *project.options,
        *selection,
    ]
    started = time.monotonic()
    result = _stream_pytest(args, project, echo=echo, env=env)
    return result, time.monotonic() - started


def _stream_pytest(
    args: Sequence[str],
    project: Project,
    *,
    echo: Callable[[str], None],
    env: Mapping[str, str] | None,
) -> ToolResult:
    """``stream`` for pytest: a timeout names pytest, and the test it was running (with -v)."""
    try:
        return stream(args, cwd=project.directory, timeout=project.timeout, echo=echo, env=env)
    except StreamTimeoutError as late:
        running = _last_started(late.output)
        raise ToolFailedError(
            f"pytest did not finish within {project.timeout:g} s"
            + (f"; it was running {running}" if running else "")
        ) from None


def _check_completed(
    result: ToolResult, project: Project, refused: Callable[[ToolResult], ShiplineError]
) -> None:
    """pytest ran the tests (some may have failed); else the reason it did not.

    ``refused`` says what a usage error (exit code 4) means for this run.
    """
    if _pytest_missing(result.stdout):
        raise _no_pytest(result.args[0])
    if result.returncode in PYTEST_RAN:
        return
    if result.returncode < 0:
        raise ToolFailedError(_killed(result, project))
    if result.returncode == USAGE_ERROR:
        raise _broken_conftest(result, project.directory) or refused(result)
    if result.returncode == RERUNFAILURES_FLAKY:
        raise ToolFailedError(
            f"pytest exited with code {RERUNFAILURES_FLAKY}: pytest-rerunfailures' "
            "--fail-on-flaky (in args or the project's addopts) failed the run for a test that "
            "passed on its rerun; shipline reports such tests as flaky and fails on them with "
            "flaky: fail, so leave --fail-on-flaky out"
        )
    problem = _collection_problem(result.stdout)
    if problem:
        raise ToolFailedError(
            f"pytest could not collect the tests (exit code {result.returncode}): {problem}"
        )
    raise ToolFailedError(
        f"pytest did not complete the run (exit code {result.returncode}): {result.tail()}"
    )


def _killed(result: ToolResult, project: Project) -> str:
    """Which signal killed pytest, and in which test when its output says so."""
    try:
        name = signal.Signals(-result.returncode).name
    except ValueError:
        name = f"signal {-result.returncode}"
    frame = _faulting_frame(result.stdout, project.directory)
    started = _last_started(result.stdout)
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
    shown = path.relative_to(directory).as_posix() if path.is_relative_to(directory) else path
    return f"{frame['function']} at {shown}:{frame['line']}"


def _last_started(output: str) -> str | None:
    """The last test id pytest printed as it started the test (with -v)."""
    started = [m["nodeid"] for line in output.splitlines() if (m := _STARTED_TEST.match(line))]
    return started[-1] if started else None


def _no_report(result: ToolResult, directory: Path) -> str:
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
    running = _last_started(result.stdout)
    return f"{said} (did a test call os._exit?)" + (
        f"; the last test it started: {running}" if running else ""
    )


def _attempt(
    result: ToolResult, report: Path, nodeids: Sequence[str], seconds: float, directory: Path
) -> Attempt:
    if not report.is_file():
        raise ToolFailedError(_no_report(result, directory))
    results = read_report(report, nodeids, directory.resolve())  # where pytest ran
    if result.returncode == 1 and not any(r.outcome.failing for r in results):
        raise ToolFailedError(f"pytest exited 1 but its report shows no failure: {result.tail()}")
    return Attempt(results, seconds, result.returncode)


def check_pytest(project: Project) -> None:
    """Fail before anything is written when the project's interpreter has no pytest."""
    if pytest_version(project.python, project.directory) is None:
        raise _no_pytest(project.python)


@functools.cache
def pytest_version(python: str, directory: Path) -> str | None:
    """The project's pytest version (asked once per interpreter); None without pytest."""
    probe = run_tool(
        [python, "-c", "import pytest; print(pytest.__version__)"],
        cwd=directory,
        timeout=120,
        ok_codes=range(256),
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def reads_argument_files(python: str, directory: Path) -> bool:
    """Whether the project's pytest takes ``@file`` arguments."""
    version = pytest_version(python, directory)
    return version is not None and version_at_least(version, ARGUMENT_FILES_SINCE)


def version_at_least(version: str, wanted: tuple[int, int]) -> bool:
    """``8.2.0``, ``8.2.0rc1`` or ``9.0.dev3+g1a2b`` against (major, minor); unreadable: no."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return match is not None and (int(match[1]), int(match[2])) >= wanted


def interpreter_version(project: Project) -> str:
    """``3.12`` for the interpreter the tests run with, for a matrix nobody configured."""
    result = run_tool(
        [project.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        cwd=project.directory,
        timeout=60,
    )
    return result.stdout.strip()


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
        tail.append(line)

    process = _start(args, cwd=cwd, env=env)
    with _reading(process) as (lines, stop), _stopped_when_interrupted(process, lines, stop, show):
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
            start_new_session=PROCESS_GROUPS,  # a group of its own, led by its pid
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
    """SIGINT to the process's group, as a terminal's Ctrl-C: pytest tears its fixtures down
    and writes its report; whatever still runs ``STOP_GRACE_SECONDS`` later is killed (also
    when waiting is interrupted, by a second Ctrl-C)."""
    try:
        if PROCESS_GROUPS:  # Windows has no SIGINT to send to another process
            _signal_group(process, signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_GRACE_SECONDS)
    finally:
        _kill_group(process)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill the process and everything it started that is still in its group.

    Also called once the process has been reaped: its pid is its group's id, which the system
    does not hand out again while a process of the group is left.
    """
    if not PROCESS_GROUPS:
        process.kill()  # no process groups (Windows): the process itself, as before
        return
    _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[str], signum: signal.Signals) -> None:
    # ESRCH: no process is left in the group; EPERM: macOS, when only zombies are
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
