"""Adapter: the user's pytest, run with the user's interpreter in the project directory.

pytest belongs to the project under test, not to shipline's environment, so every call goes
through ``python -m pytest`` of the interpreter the project's tests use. Results are read from
the JUnit XML report, never from the exit code alone.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipline.errors import ToolFailedError, ToolMissingError, UsageError
from shipline.testmatrix import coverage_merge, sharding
from shipline.testmatrix.junit import read_report
from shipline.testmatrix.results import TestResult
from shipline.tools import ToolResult, run_tool

# pytest's exit codes: 0 passed, 1 tests failed, 5 nothing collected; the rest mean the run
# itself broke (2 interrupted or collection errors, 3 internal error, 4 usage error).
PYTEST_RAN = (0, 1)
NO_TESTS = 5
TAIL_LINES = 200
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
    """Node ids of the selected layer, in pytest's order; a collection error blocks."""
    result = run_tool(
        [*_base_args(project), "--collect-only", "-q", *project.options, *project.paths],
        cwd=project.directory,
        timeout=project.timeout,
        ok_codes=range(256),
    )
    if result.returncode == NO_TESTS:
        return []
    if _pytest_missing(result.stderr):
        raise _no_pytest(project.python)
    if result.returncode != 0:
        raise ToolFailedError(
            f"pytest could not collect the tests (exit code {result.returncode}): "
            f"{_collection_problem(result.stdout) or result.tail()}"
        )
    nodeids: list[str] = []
    for line in result.stdout.splitlines():
        if not line.strip():
            break
        nodeids.append(line.strip())
    return nodeids


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
    _check_completed(result)
    return _attempt(result, report, nodeids, seconds)


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
    with tempfile.TemporaryDirectory(prefix="shipline-shard-") as name:
        scratch = Path(name)
        for source, copy in ((_PLUGIN, f"{PLUGIN_MODULE}.py"), (_SHARDING, SHARDING_COPY)):
            shutil.copyfile(source, scratch / copy)
        answer = scratch / "answer.json"
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
        inherited = os.environ.get("PYTHONPATH")
        path = os.pathsep.join([name, inherited] if inherited else [name])
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
            env={**os.environ, "PYTHONPATH": path},
        )
        if result.returncode != NO_TESTS:
            _check_completed(result)
        if not answer.is_file():
            raise ToolFailedError(
                f"pytest ran without shipline's shard plugin (exit code {result.returncode}): "
                f"{result.tail()}"
            )
        chosen = json.loads(answer.read_text(encoding="utf-8"))
    selected = Selection(
        int(chosen["collected"]),
        int(chosen["shards"]),
        tuple(str(t) for t in chosen["tests"]),
        float(chosen["seconds"]),
        int(chosen["unknown"]),
        None if chosen["modules"] is None else _module_counts(chosen["modules"]),
    )
    if result.returncode == NO_TESTS:
        return ShardRun(selected, None)
    return ShardRun(selected, _attempt(result, report, selected.tests, seconds))


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
    result = stream(args, cwd=project.directory, timeout=project.timeout, echo=echo, env=env)
    return result, time.monotonic() - started


def _check_completed(result: ToolResult) -> None:
    """pytest ran the tests (some may have failed); else the reason it did not."""
    if _pytest_missing(result.stdout):
        raise _no_pytest(result.args[0])
    if result.returncode in PYTEST_RAN:
        return
    problem = _collection_problem(result.stdout)
    if problem:
        raise ToolFailedError(
            f"pytest could not collect the tests (exit code {result.returncode}): {problem}"
        )
    raise ToolFailedError(
        f"pytest did not complete the run (exit code {result.returncode}): {result.tail()}"
    )


def _attempt(result: ToolResult, report: Path, nodeids: Sequence[str], seconds: float) -> Attempt:
    results = read_report(report, nodeids)
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


def stream(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    echo: Callable[[str], None],
    env: Mapping[str, str] | None = None,
) -> ToolResult:
    """Run a long tool with its output shown line by line as it comes (progress in the log).

    stdout and stderr arrive merged; the last lines are kept for error messages. The process
    is killed when it outlives ``timeout``.
    """
    name = Path(args[0]).name
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as error:
        if error.errno == errno.E2BIG:
            size = sum(len(a) + 1 for a in args)
            raise CommandTooLongError(
                f"{name} could not start: {len(args)} arguments, {size} bytes, are more than "
                "the system allows on a command line"
            ) from None
        raise ToolFailedError(f"{name} could not start: {error}") from None
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
        for line in process.stdout:
            text = line.rstrip("\n")
            echo(text)
            tail.append(text)
        returncode = process.wait()
    finally:
        timed_out = not timer.is_alive()
        timer.cancel()
    if timed_out and returncode < 0:
        raise ToolFailedError(f"{name} did not finish within {timeout:g} s")
    return ToolResult(tuple(args), returncode, "\n".join(tail), "")
