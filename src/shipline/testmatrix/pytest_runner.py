"""Adapter: the user's pytest, run with the user's interpreter in the project directory.

pytest belongs to the project under test, not to shipline's environment, so every call goes
through ``python -m pytest`` of the interpreter the project's tests use. Results are read from
the JUnit XML report, never from the exit code alone.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shipline.errors import ShiplineError, ToolFailedError, ToolMissingError, UsageError
from shipline.testmatrix import coverage_merge, sharding
from shipline.testmatrix.junit import read_report
from shipline.testmatrix.plugin_record import as_recorded
from shipline.testmatrix.process_stream import (
    CommandTooLongError,
    StreamTimeoutError,
    stream,
)
from shipline.testmatrix.pytest_output import (
    collection_problem,
    conftest_hook_failed,
    conftest_not_imported,
    interruption,
    killed,
    last_started,
    no_report,
    pytest_missing,
    stopped_on_failures,
    usage_problem,
)
from shipline.testmatrix.report import Split
from shipline.testmatrix.results import TestResult
from shipline.tools import ToolResult, run_tool

# pytest's exit codes: 0 passed, 1 tests failed, 5 nothing collected; the rest mean the run
# itself broke (2 interrupted or collection errors, 3 internal error, 4 usage error).
PYTEST_RAN = (0, 1)
NO_TESTS = 5
USAGE_ERROR = 4
INTERRUPTED = 2  # also a collection error, without -x
RERUNFAILURES_FLAKY = 7  # pytest-rerunfailures' --fail-on-flaky; pytest itself stops at 5
# pytest reads arguments from a file named with a leading "@" since 8.2. A shard's node ids go
# there: thousands of them overflow a command line (2 MB on Linux, 32 KB on Windows).
ARGUMENT_FILES_SINCE = (8, 2)
# The oldest pytest the plugin runs on: it keeps its state in pytest.StashKey (7.0)
PLUGIN_NEEDS = (7, 0)
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
RECORD_OPTION = "--shipline-record"
RERUN_OPTION = "--shipline-rerun"


@dataclass(frozen=True)
class Project:
    directory: Path
    python: str
    paths: tuple[str, ...]  # where to collect; empty: the project's testpaths
    options: tuple[str, ...]  # -m/-k and other pytest options, for collection and runs
    timeout: float
    hash_seed: str = "0"  # the PYTHONHASHSEED of every pytest run (see hash_seed)


@dataclass(frozen=True)
class Collected:
    """What plan collected: the layer's tests, and what it saw beside them."""

    tests: list[str]  # node ids of the selected layer, in pytest's order
    deselected: frozenset[str] = frozenset()  # by -m, -k and plugins: other layers' tests
    marker_expressions: tuple[str, ...] = ()  # every -m pytest read, in order: the last stands


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
    randomly_seed: str | None = None  # pytest-randomly's seed; None: it was not loaded

    @property
    def estimated(self) -> str:
        """The estimate in words; none at all before any test of the layer was measured."""
        if self.unknown >= self.collected:
            # a single shard splits nothing, measured or not
            return "one shard: no split" if self.shards == 1 else sharding.UNMEASURED
        return f"estimated {self.seconds:.1f} s for its tests"


@dataclass(frozen=True)
class ShardRun:
    selection: Selection
    attempt: Attempt | None  # None: pytest had nothing to run (see selection)


def hash_seed(environ: Mapping[str, str]) -> str:
    """The PYTHONHASHSEED every pytest that shipline starts runs with: the environment's number,
    else one from the workflow run's id (the same in the plan, every shard job, each re-run of a
    job and each rerun round), else 0. A test parametrized over a set of values pytest gives no
    id of their own (tuples, objects) gets ids by position, and Python orders a set of such
    values holding strings by a hash seeded anew in each process: under a seed of each its own
    ("random" asks for that), a rerun (or another shard) gives an id another value, and a test
    that always fails could pass on its rerun, or run in no shard."""
    given = environ.get("PYTHONHASHSEED", "")
    if given and given != "random":  # else a number: Python itself refuses any other value
        try:
            return str(int(given))  # as Python reads it: " 7" and "+7" are 7
        except ValueError:
            return given
    run_id = environ.get("GITHUB_RUN_ID", "")
    return str(int(run_id) % 2**32) if run_id.isdigit() else "0"


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


def collect(project: Project) -> Collected:
    """The selected layer's node ids, in pytest's order; a collection error blocks.

    The plugin writes them to a file: pytest's own listing changes with the project's
    verbosity (``addopts = -q`` lists files), with ``-s`` (prints) and ``-v`` (a tree).
    """
    with _plugin_scratch("shipline-collect-", project) as (scratch, env):
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
    if pytest_missing(result.stdout):
        raise _no_pytest(project.python)
    if collected is not None:  # first: tests collected from the wrong place are none to run
        _check_where_collected(collected, project)
    if result.returncode == NO_TESTS:
        return Collected([])
    if result.returncode == USAGE_ERROR:
        raise conftest_not_imported(result, project.directory) or _refused_options(result)
    if collected is not None and collected["errors"]:
        raise _could_not_collect(result, collected["errors"])
    if result.returncode < 0:
        raise ToolFailedError(killed(result, project.directory))
    if result.returncode != 0:
        problem = collection_problem(result.stdout)
        # a hook's traceback names a conftest only when no module failed to collect
        broken = None if problem or collected else conftest_hook_failed(result, project.directory)
        raise broken or ToolFailedError(
            f"pytest could not collect the tests (exit code {result.returncode}): "
            f"{problem or result.tail()}"
        )
    if collected is None:
        raise _did_something_else(result) or ToolFailedError(
            f"pytest collected without shipline's plugin: {result.tail()}"
        )
    return Collected(
        [str(test) for test in collected["tests"]],
        frozenset(map(str, collected.get("deselected", ()))),
        tuple(map(str, collected.get("marker_expressions", ()))),
    )


def _check_where_collected(answer: Mapping[str, Any], project: Project) -> None:
    """Bad input when pytest collected tests outside the project, or missed its testpaths."""
    outside = answer.get("outside_rootdir")
    if outside:
        more = f" (and {len(outside) - 3} more)" if len(outside) > 3 else ""
        shown = ", ".join(map(str, outside[:3])) + more
        raise UsageError(
            f"pytest collected tests outside {project.directory} (the rootdir: the path input): "
            f"{shown}; a test's id is its path under the project, which a rerun runs again: set "
            "path to a directory that holds them, or leave them out (the project's testpaths, "
            "addopts and plugins, the inputs 'args' and 'paths')"
        )
    if answer.get("testpaths_missed"):
        raise UsageError(
            "pytest found none of the testpaths of the project's pytest configuration under "
            f"{project.directory} (the rootdir: the path input), and would collect every test "
            "below it instead: set path to the directory testpaths are relative to, or paths "
            "to the test directories"
        )


@contextmanager
def _plugin_scratch(prefix: str, project: Project) -> Iterator[tuple[Path, dict[str, str]]]:
    """A scratch directory holding shard_plugin.py and sharding.py, and an environment in which
    ``-p`` finds the plugin there, under the project's hash seed."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        for source, copy in ((_PLUGIN, f"{PLUGIN_MODULE}.py"), (_SHARDING, SHARDING_COPY)):
            shutil.copyfile(source, Path(name) / copy)
        inherited = os.environ.get("PYTHONPATH")
        path = os.pathsep.join([name, inherited] if inherited else [name])
        yield Path(name), {**os.environ, "PYTHONPATH": path, "PYTHONHASHSEED": project.hash_seed}


def _read_answer(path: Path) -> dict[str, Any] | None:
    """What the plugin wrote; None when it never got to (pytest stopped before, or the
    plugin was not loaded)."""
    if not path.is_file():
        return None
    answer: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return answer


def _no_pytest(python: str) -> ToolMissingError:
    return ToolMissingError(
        f"pytest (for {python})",
        f"install it in the project's test environment, e.g. `{python} -m pip install pytest`",
    )


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
        f"pytest refused its options (exit code {USAGE_ERROR}): {usage_problem(result)}; "
        "check the inputs 'markers', 'args' and 'paths' (and the project's pytest addopts, "
        "conftest.py files and plugins)"
    )


def _did_something_else(result: ToolResult) -> UsageError | None:
    """pytest ended well without collecting for the plugin: an option made it do something else
    (--version and --help end before the plugin is configured; a plugin's own command may), or
    a conftest's hook ended the session with pytest.exit(returncode=0)."""
    if result.returncode != 0:
        return None
    return UsageError(
        "pytest ended (exit code 0) without collecting the tests: an option in the input 'args' "
        "or the project's addopts made it do something else (--version, --help, a plugin's "
        "own command), or a conftest or plugin called pytest.exit(); it printed: "
        f"{result.tail()}"
    )


def _refused_rerun(result: ToolResult) -> ToolFailedError:
    """The options were accepted by the first run: a usage error now is about the test ids."""
    return ToolFailedError(
        f"pytest could not rerun the failed tests (exit code {USAGE_ERROR}): "
        f"{usage_problem(result)}"
    )


def run(
    project: Project,
    nodeids: Sequence[str],
    report: Path,
    *,
    echo: Callable[[str], None],
    coverage_data: Path | None = None,
) -> Attempt:
    """Run exactly ``nodeids`` (a rerun of failed tests) and read the JUnit report, with the
    plugin recording what it does not keep (reruns a rerun plugin makes in this run too)."""
    with _plugin_scratch("shipline-rerun-", project) as (scratch, env):
        record = scratch / "record.json"
        listed = scratch / "nodeids.txt"
        listed.write_text("".join(f"{n}\n" for n in nodeids), encoding="utf-8")
        named = _arguments(nodeids)
        if reads_argument_files(project.python, project.directory):
            arguments = scratch / "arguments.txt"
            arguments.write_text("".join(f"{n}\n" for n in named), encoding="utf-8")
            selection = [f"@{arguments}"]
        else:
            selection = named
        try:
            result, seconds = _pytest(
                project,
                # the plugin runs these ids alone, whatever paths the project's options name
                [
                    "-p",
                    PLUGIN_MODULE,
                    f"{RECORD_OPTION}={record}",
                    f"{RERUN_OPTION}={listed}",
                    *selection,
                ],
                report,
                echo=echo,
                coverage_data=coverage_data,
                coverage_options=_coverage_omit(project, scratch, coverage_data),
                env=env,
            )
        except CommandTooLongError as error:
            raise ToolFailedError(
                f"{error}: the {len(nodeids)} test ids do not fit on pytest's command line; "
                "pytest 8.2 or newer reads them from a file (upgrade pytest in the project's "
                "test environment), or use more shards"
            ) from None
        recorded = _read_answer(record)
    if result.returncode != NO_TESTS:  # none of them ran (deselected): the caller says so
        _check_completed(result, project, _refused_rerun)
    attempt = _attempt(result, report, nodeids, seconds, project.directory)
    return _with_plugin_record(attempt, recorded, result, project.directory)


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
    with _plugin_scratch("shipline-shard-", project) as (scratch, env):
        answer, record = scratch / "answer.json", scratch / "record.json"
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
                    "coverage": coverage_data is not None,
                }
            ),
            encoding="utf-8",
        )
        selection = [
            "-p",
            PLUGIN_MODULE,
            f"{PLUGIN_OPTION}={scratch / 'request.json'}",
            f"{RECORD_OPTION}={record}",
            *project.paths,
        ]
        result, seconds = _pytest(
            project,
            selection,
            report,
            echo=echo,
            coverage_data=coverage_data,
            coverage_options=_coverage_omit(project, scratch, coverage_data),
            env=env,
        )
        chosen = _read_answer(answer)
        recorded = _read_answer(record)
    if chosen is None:
        if result.returncode != NO_TESTS:
            _check_completed(result, project, _refused_options)
        problem = collection_problem(result.stdout)
        if problem:  # -x or --maxfail stopped the collection at an error, before the plugin
            raise ToolFailedError(
                f"pytest could not collect the tests (exit code {result.returncode}): {problem}"
            )
        broken = conftest_hook_failed(result, project.directory)
        if broken is not None:
            raise broken
        raise _did_something_else(result) or ToolFailedError(
            f"pytest ran without shipline's shard plugin (exit code {result.returncode}): "
            f"{result.tail()}"
        )
    _check_where_collected(chosen, project)
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
        None if chosen.get("randomly_seed") is None else str(chosen["randomly_seed"]),
    )
    if result.returncode == NO_TESTS:
        if not selected.tests:
            return ShardRun(selected, None)
        raise _stopped_after_choosing(result, selected)
    # pytest accepted the options: the plugin answered after collection
    _check_completed(result, project, functools.partial(_stopped_after_choosing, chosen=selected))
    attempt = _attempt(result, report, selected.tests, seconds, project.directory)
    return ShardRun(selected, _with_plugin_record(attempt, recorded, result, project.directory))


def _coverage_omit(project: Project, scratch: Path, coverage_data: Path | None) -> list[str]:
    """Without a configured source coverage.py measures every file that runs: the plugin
    would count in the project's total, then be missing when the merge reports. A
    command-line --omit replaces the configured one, so the project's patterns go too
    (they cannot contain commas: coverage splits the option on them)."""
    if coverage_data is None:
        return []
    patterns = [*coverage_merge.omit_patterns(project.directory), f"{scratch}/*"]
    return [f"--omit={','.join(patterns)}"]


def _with_plugin_record(
    attempt: Attempt, record: Mapping[str, Any] | None, result: ToolResult, directory: Path
) -> Attempt:
    """The attempt as the plugin recorded it (``plugin_record``); a run that finished without
    the plugin's record cannot vouch for its outcomes."""
    if record is None:
        raise ToolFailedError(
            "pytest finished without shipline's plugin recording the run "
            f"(exit code {result.returncode}): {result.tail(1)}"
        )
    results = as_recorded(attempt.results, record, directory.resolve())
    # judged after the record: what pytest failed must not be read as flaky or passed
    if result.returncode == 1 and not any(r.outcome.failing for r in results):
        raise ToolFailedError(f"pytest exited 1 but its report shows no failure: {result.tail()}")
    return replace(attempt, results=results)


def _split(split: Mapping[str, Any], share: Sequence[str], tests: Sequence[str]) -> Split:
    """The plugin's record of what it split, with the tests of the share that a plugin
    deselected after the choice (they are the shard's, and did not run)."""
    ran = set(tests)
    deselected = tuple(t for t in share if t not in ran)
    return Split(str(split["basis"]), int(split["count"]), str(split["sha256"]), deselected)


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


def _arguments(nodeids: Sequence[str]) -> list[str]:
    """How pytest's command line can name the tests: by their ids, but a test whose path holds
    a "[" (which pytest reads as the start of a parametrization, refusing the path) by the
    nearest directory above it whose path holds none, of which the plugin then runs the given
    ids alone. No argument lies under another: pytest 8 drops a directory named beside a test
    in it, and pytest 7 runs that test twice."""
    directories = {_bracket_free_directory(n) for n in nodeids if "[" in _path_of(n)}
    tops = {d for d in directories if not any(_within(d, other) for other in directories - {d})}
    named = [n for n in nodeids if not any(_within(_path_of(n), top) for top in tops)]
    return sorted(tops) + named


def _path_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _bracket_free_directory(nodeid: str) -> str:
    parts = itertools.takewhile(lambda part: "[" not in part, _path_of(nodeid).split("/")[:-1])
    return "/".join(parts) or "."


def _within(path: str, directory: str) -> bool:
    return directory == "." or path == directory or path.startswith(f"{directory}/")


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
        *project.options,
        # after the project's options: pytest keeps the last --junitxml and -o of a key, and
        # shipline reads this report, in this form
        f"--junitxml={report}",
        "--junit-prefix=",  # a prefix on class names would hide which test a case is
        # xunit1 keeps file and line on each test case, for annotations on the right line;
        # total: a test's fixtures are its time too
        "-o",
        "junit_family=xunit1",
        "-o",
        "junit_duration_report=total",
        *selection,
    ]
    started = time.monotonic()
    result = _stream_pytest(args, project, echo=echo, env=env)
    return result, time.monotonic() - started


class PytestTimeoutError(ToolFailedError):
    """pytest outlived its timeout (and was stopped)."""


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
        running = last_started(late.output)
        raise PytestTimeoutError(
            f"pytest did not finish within {project.timeout:g} s"
            + (f"; it was running {running}" if running else "")
        ) from None


def _check_completed(
    result: ToolResult, project: Project, refused: Callable[[ToolResult], ShiplineError]
) -> None:
    """pytest ran the tests (some may have failed); else the reason it did not.

    ``refused`` says what a usage error (exit code 4) means for this run.
    """
    if pytest_missing(result.stdout):
        raise _no_pytest(result.args[0])
    if result.returncode in PYTEST_RAN:
        return
    if result.returncode < 0:
        raise ToolFailedError(killed(result, project.directory))
    if result.returncode == USAGE_ERROR:
        raise conftest_not_imported(result, project.directory) or refused(result)
    if result.returncode == RERUNFAILURES_FLAKY:
        raise ToolFailedError(
            f"pytest exited with code {RERUNFAILURES_FLAKY}: pytest-rerunfailures' "
            "--fail-on-flaky (in args or the project's addopts) failed the run for a test that "
            "passed on its rerun; shipline reports such tests as flaky and fails on them with "
            "flaky: fail, so leave --fail-on-flaky out"
        )
    stopped = None
    if result.returncode == INTERRUPTED:
        if stopped_on_failures(result.stdout):
            return  # the report names the failures that stopped it; the shard fails on it
        stopped = interruption(result.stdout, project.directory.resolve())
    if stopped:
        raise ToolFailedError(f"pytest stopped the run (exit code {INTERRUPTED}): {stopped}")
    problem = collection_problem(result.stdout)
    if problem:
        raise ToolFailedError(
            f"pytest could not collect the tests (exit code {result.returncode}): {problem}"
        )
    raise ToolFailedError(
        f"pytest did not complete the run (exit code {result.returncode}): {result.tail()}"
    )


def _attempt(
    result: ToolResult, report: Path, nodeids: Sequence[str], seconds: float, directory: Path
) -> Attempt:
    if not report.is_file():
        raise ToolFailedError(no_report(result, directory))
    results = read_report(report, nodeids, directory.resolve())  # where pytest ran
    return Attempt(results, seconds, result.returncode)


def check_pytest(project: Project) -> None:
    """Fail before anything is written when the project's interpreter has no pytest, or one
    too old for the plugin shipline loads into it (which would die importing it)."""
    version = pytest_version(project.python, project.directory)
    if version is None:
        raise _no_pytest(project.python)
    if _a_release(version) and not version_at_least(version, PLUGIN_NEEDS):
        wanted = ".".join(map(str, PLUGIN_NEEDS))
        raise UsageError(
            f"pytest {version} (for {project.python}) is too old for shipline's test-matrix, "
            f"which needs pytest {wanted} or newer: upgrade it in the project's test "
            f"environment, e.g. `{project.python} -m pip install 'pytest>={wanted}'`"
        )


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
    # a build from a checkout without tags (0.1.dev1) is taken for a recent one
    return version is not None and (
        not _a_release(version) or version_at_least(version, ARGUMENT_FILES_SINCE)
    )


def _a_release(version: str) -> bool:
    """Whether a version reads as one of pytest's releases: "0.1.dev1+g..." is a pytest built
    from a checkout without its tags, "unknown" one without its metadata."""
    return re.match(r"[1-9]\d*\.\d+", version) is not None


def version_at_least(version: str, wanted: tuple[int, int]) -> bool:
    """``8.2.0``, ``8.2.0rc1`` or ``9.0.dev3+g1a2b`` against (major, minor); unreadable: no."""
    line = release_line(version)
    return line is not None and line >= wanted


def release_line(version: str) -> tuple[int, int] | None:
    """(major, minor) of ``3.12.4`` or ``9.0.dev3``; None for what does not read as one."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


def interpreter_version(project: Project) -> str:
    """``3.12`` for the interpreter the tests run with, for a matrix nobody configured."""
    result = run_tool(
        [project.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        cwd=project.directory,
        timeout=60,
    )
    return result.stdout.strip()
