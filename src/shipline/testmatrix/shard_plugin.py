"""pytest plugin: keep this shard's tests out of pytest's own collection, in that same process.

A shard job used to collect twice: once to compute its share, once more when pytest ran the
chosen node ids; on a suite with heavy imports the second collection cost as much as the
shard's tests. This plugin computes the share right after pytest's collection instead.
With keep_together "module" it goes further: the modules are placed from the durations history
before collection starts (``sharding.plan_modules``), and pytest is told to ignore every test
module another shard owns, so a shard imports only its own (on networkx, 1.5 s of collection
instead of 8.4 s for an eighth of the suite).

It runs inside the project's pytest, with the project's interpreter, not shipline's, so it
uses nothing but pytest and the standard library: ``pytest_runner`` copies it and
``sharding.py`` into a scratch directory and loads it with ``-p``. The request (where that
``sharding.py`` is, the durations, the shard count and index, where to answer) and the answer
(what was collected and what this shard got) are JSON files; the request is named by the
``--shipline-shard`` option.

The tests are chosen in ``pytest_collection_modifyitems``, after the other plugins' own hooks,
but the answers are written only once collection is final (``pytest_collection_finish``): a
hook wrapper may still deselect after the others have run (pytest's own ``--lf`` does), and
the answer must name the tests pytest will run. Under pytest-xdist every worker collects and
answers the same; the controller collects nothing.

The answer also carries a checksum of what the share was split from, and the share itself
before any later deselection, so that merge can check that the shard jobs of a matrix cell
split one and the same collection (a plugin that changes it per job would otherwise leave
tests unrun, or run twice, unseen). Once the tests have run, a second file records what
pytest's JUnit report does not keep (``_RunRecord``): the tests a plugin such as
pytest-rerunfailures ran again after a failure (a test that passed only then is flaky, not
passed), exact times, skips that were only a subtest's, and where each failure happened.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shlex
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Set, Tuple  # noqa: UP035 - Python 3.8 has no tuple[...] at run time

import pytest
from _pytest.terminal import TerminalReporter  # pytest.TerminalReporter from 7.0 only

OPTION = "--shipline-shard"  # pytest_runner passes these by their names
COLLECT_OPTION = "--shipline-collect"
RECORD_OPTION = "--shipline-record"
RERUN_OPTION = "--shipline-rerun"
# Files pytest needs whoever owns the tests beside them.
NEVER_SKIPPED = ("conftest.py", "__init__.py")


@dataclass
class _Shard:
    request: dict[str, Any]
    sharding: Any  # the copied sharding.py
    modules: Any  # its ModulePlan when only this shard's modules are collected, else None

    @property
    def index(self) -> int:
        return int(self.request["shard"])


class _CollectionErrors:
    """The modules (or other collectors) pytest could not collect, with their error."""

    def __init__(self) -> None:
        self.found: list[dict[str, str]] = []

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.found.append({"nodeid": report.nodeid, "message": _error_line(report)})


def _error_line(report: Any) -> str:
    """The exception pytest shows last ("E   ModuleNotFoundError: ..."), else its first and
    last lines: a report without one says what went wrong first and what to do last
    ("import file mismatch: ... HINT: ... use a unique basename for your test file modules").
    Its longrepr, not its longreprtext: under pytest-xdist that starts with the worker's
    "[gw0] linux -- Python ..." line, which would be the first (a crashed worker's report)."""
    text = _COLOUR_CODES.sub("", str(report.longrepr))  # FORCE_COLOR=1 colours it
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    if errors:
        return errors[-1]
    if len(lines) > 1:
        return f"{lines[0]} ... {lines[-1]}"
    return lines[0] if lines else "collection failed"


# the end of a failure's traceback is where it happened; a whole one may be megabytes of reprs
DETAILS_CHARS = 20_000
# terminal colour codes (as shipline.ansi: this module runs in the project's pytest, alone)
_COLOUR_CODES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


# The phase of pytest-xdist's report for a test whose worker died running it
_CRASHED = "???"
# a test's node id, and the pytest-xdist worker that ran it (or None)
_Run = Tuple[str, Any]  # noqa: UP006 - as the import


class _RunRecord:
    """What the run did that pytest's JUnit report does not keep, written once it is over:

    - the tests a plugin ran again after a failure (pytest-rerunfailures reports each failed
      attempt with the outcome "rerun"), with how often and the first failure, and the tests
      pytest's own summary counts as failed;
    - each test's time to the microsecond: JUnit writes milliseconds, and a suite of
      sub-millisecond tests would read as taking no time at all;
    - the tests that were skipped themselves: JUnit writes a skipped subtest into its test's
      case, where it reads as the whole test skipped;
    - for each failure, the deepest frame in the project's own files (which
      ``pytest_runtest_makereport`` below gives its report), which JUnit's text leaves out
      under --tb=line and --tb=no;
    - the tests whose pytest-xdist worker died under them: JUnit files the crash as an error
      "failed on setup", which it was not (pytest's summary says FAILED);
    - the tests marked xfail that were skipped (xfailed) or passed (xpassed): JUnit files an
      xpass as a plain pass.

    Under pytest-xdist the controller gets every worker's reports, so only it keeps and
    writes these (``workerinput`` marks a worker).
    """

    def __init__(self, target: Path, *, each: bool) -> None:
        self.target = target
        # pytest-xdist's --dist each: every worker runs every test, each its own attempts
        self.each = each
        # node id -> the failed attempts reported, each as (worker, its number there)
        self.attempts: dict[str, set[Any]] = {}
        self.skipped_on_rerun: set[str] = set()  # node ids a rerun skipped, after a failure
        self.first_failures: dict[str, dict[str, Any]] = {}  # node id -> its first failure
        self.seconds: dict[str, float] = {}
        self.skipped: set[str] = set()
        self.xfail: set[str] = set()  # node ids that xfailed or xpassed
        self.frames: dict[str, list[Any]] = {}
        self.crashed: dict[str, dict[str, Any]] = {}  # node id -> what pytest-xdist said
        self.errored: set[str] = set()  # node ids whose fixture failed for good (on a worker)
        # node id -> where it is defined (pytest's item.location: the file relative to the
        # rootdir, the 0-based line): pytest-xdist's report of a crash has neither
        self.locations: dict[str, Any] = {}
        # Each run of a test: under pytest-xdist's --dist each, every worker runs every test.
        self.failing: dict[_Run, Any] = {}  # the first failed report of the attempt under way

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.locations[nodeid] = location

    def pytest_runtest_logreport(self, report: Any) -> None:
        nodeid, subtest = report.nodeid, _subtest(report)
        run = (nodeid, getattr(report, "worker_id", None))
        if not subtest:  # a subtest's time lies within its test's call
            duration = float(getattr(report, "duration", 0.0) or 0.0)
            self.seconds[nodeid] = self.seconds.get(nodeid, 0.0) + duration
            if report.skipped:
                self.skipped.add(nodeid)
                if self._rerun_by(run):
                    self.skipped_on_rerun.add(nodeid)
            if hasattr(report, "wasxfail"):  # pytest's mark of an xfail or a (lax) xpass
                self.xfail.add(nodeid)
        frame = getattr(report, _FRAME_ATTRIBUTE, None)
        if frame is not None:
            self.frames.setdefault(nodeid, frame)
        if report.failed and report.when == _CRASHED:
            self._crashed(nodeid, report)
        if report.failed and report.when in ("setup", "teardown"):  # "rerun" is not for good
            self.errored.add(nodeid)
        if report.failed or report.outcome == "rerun":
            self.failing.setdefault(run, report)
        if report.outcome == "rerun":
            self._rerun(run, report)
        if report.when == "teardown" and not subtest:  # the attempt is over
            self.failing.pop(run, None)

    def _defined(self, nodeid: str) -> tuple[Any, Any]:
        """Where pytest said the test is: its file (relative to the rootdir) and 1-based line,
        each None when unknown."""
        file, line = (self.locations.get(nodeid) or (None, None, None))[:2]
        return file, None if line is None else line + 1

    def _crashed(self, nodeid: str, report: Any) -> None:
        """pytest-xdist's report of a worker that died running the test: what it said, where
        the test is defined, and whether the attempt had already errored in a fixture (the
        worker's own failed reports of it came first)."""
        before = [r for (n, _), r in self.failing.items() if n == nodeid]
        file, line = self._defined(nodeid)
        self.crashed[nodeid] = {
            "message": _failure_message(report),
            "file": file,
            "line": line,
            "error": any(r.when in ("setup", "teardown") for r in before),
        }

    def _crash(self, nodeid: str) -> dict[str, Any]:
        """The crash as the record says it: under --dist each, a test a fixture failed on
        another worker is an error whatever order the workers reported in (pytest counts both,
        and an error outranks a failure, as for two workers' failure and error)."""
        crash = self.crashed[nodeid]
        if self.each and nodeid in self.errored:
            return {**crash, "error": True}
        return crash

    def _rerun_by(self, run: _Run) -> bool:
        """Whether the worker of ``run`` has rerun its test (under --dist each another worker
        may have; pytest-xdist's report of a crash names no worker: it may be any)."""
        attempts = self.attempts.get(run[0], ())
        return any(not self.each or worker in (run[1], None) for worker, _ in attempts)

    def _reruns(self, failed: set[Any]) -> int:
        """How often a test was run again. Under --dist each, the most any one worker ran it
        again; otherwise every attempt counts, wherever it ran (after a crash the test runs
        again on the worker that replaced the crashed one)."""
        if not self.each:
            return len(failed)
        return max(Counter(worker for worker, _ in failed).values())

    def _rerun(self, run: _Run, report: Any) -> None:
        nodeid = run[0]
        failed = self.attempts.setdefault(nodeid, set())
        # one attempt may report a failed call and a failed teardown: count attempts, which
        # rerunfailures numbers in "rerun" (0 for the first run)
        failed.add((run[1], getattr(report, "rerun", len(failed))))
        if nodeid in self.first_failures:
            return
        # a subtest's failure comes first, and the rerun report itself then says nothing
        first = self.failing[run]
        details = "" if first.longrepr is None else _COLOUR_CODES.sub("", str(first.longrepr))
        file, line = self._defined(nodeid)
        self.first_failures[nodeid] = {
            "message": _COLOUR_CODES.sub("", _failure_message(first)),
            "details": details[-DETAILS_CHARS:],  # its traceback, to place it
            "error": first.when in ("setup", "teardown"),  # in a fixture, not the test
            # where else to place it: its frame (--tb=line), else where the test is defined
            # (a crash has neither traceback nor frame; a later attempt's place is not its)
            "frame": getattr(first, _FRAME_ATTRIBUTE, None),
            "defined": None if file is None else [file, line],
        }

    @pytest.hookimpl(tryfirst=True)  # before other plugins' hooks, which may fail
    def pytest_sessionfinish(self, session: Any) -> None:
        reruns = {
            nodeid: {
                "reruns": self._reruns(failed),
                "then_skipped": nodeid in self.skipped_on_rerun,
                **self.first_failures[nodeid],
            }
            for nodeid, failed in self.attempts.items()
        }
        record = {
            "reruns": reruns,
            "seconds": self.seconds,
            "skipped": sorted(self.skipped),
            "xfail": sorted(self.xfail),
            "frames": self.frames,
            "crashed": {nodeid: self._crash(nodeid) for nodeid in self.crashed},
            "failed": _failed_by_pytest(session.config),
        }
        _answer(self.target, record)


def _failed_by_pytest(config: Any) -> list[str] | None:
    """The tests pytest's own summary counts as failed (or in error, or under a category of the
    project's own): what a rerun plugin retried and got to pass is not among them (it takes a
    superseded attempt's failed subtests out), a crashed pytest-xdist worker's test that could
    not run again is. None without pytest's terminal reporter (-p no:terminal, or a plugin's
    stand-in), which keeps that count."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not isinstance(reporter, TerminalReporter):  # pytest-tldr stands in, with stats of its own
        return None
    # every category: a project's pytest_report_teststatus may file failures under its own
    return sorted(
        {
            str(report.nodeid)
            for reports in reporter.stats.values()
            for report in reports
            if getattr(report, "failed", False) is True and hasattr(report, "nodeid")
        }
    )


def _subtest(report: Any) -> bool:
    """A subtest's report: pytest 9's SubtestReport, or the pytest-subtests plugin's
    SubTestReport (pytest 8)."""
    return type(report).__name__.lower() == "subtestreport"


# The attribute a failed report carries its frame in: a worker's reports reach the
# pytest-xdist controller with their attributes, as JSON.
_FRAME_ATTRIBUTE = "shipline_frame"
_INSTALLED = ("site-packages", "dist-packages")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """Give a failed phase's report the deepest frame of its exception in the project's own
    files (under the directory pytest runs in, not in an installed package), as [absolute path,
    1-based line]. A frame of a sibling package or the standard library is no line of the
    project's."""
    outcome = yield
    report = outcome.get_result()
    excinfo = call.excinfo
    if excinfo is None or report.skipped or not item.config.getoption(RECORD_OPTION, None):
        return
    project = os.path.realpath(str(item.config.invocation_params.dir)) + os.sep
    for entry in reversed(excinfo.traceback):
        where = Path(str(entry.path))
        if not where.is_absolute():  # "<string>", "<doctest ...>": no file
            continue
        path = os.path.realpath(where)  # as the runner sees the project: resolved
        if path.startswith(project) and not any(p in _INSTALLED for p in Path(path).parts):
            setattr(report, _FRAME_ATTRIBUTE, [path, entry.lineno + 1])
            return


def _failure_message(report: Any) -> str:
    """What a failed test's JUnit message says (pytest's crash line), else its error line."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return _error_line(report) if report.longrepr is not None else "failed, saying nothing more"


class _Deselected:
    """Plan's: the tests -m, -k, --deselect and other plugins deselected, which are tests of the
    project all the same (another layer's)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def pytest_deselected(self, items: list[Any]) -> None:
        self.ids.extend(item.nodeid for item in items)


def _marker_expressions(config: Any) -> list[str]:
    """Every -m pytest read, in its order: the configuration's addopts, PYTEST_ADDOPTS, then
    the command line (where shipline puts its ``markers`` input last). The last one stands."""
    try:
        env = shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    except ValueError:  # pytest would have refused it before
        env = []
    given = [*config.getini("addopts"), *env, *config.invocation_params.args]
    found: list[str] = []
    expects = False  # the word before was -m, alone or last of a group of flags
    for arg in given:
        flags = _FLAGS_THEN_M.match(arg)
        if expects:
            found.append(arg)
            expects = False
        elif flags:
            # -m slow, -mslow, -m=slow (argparse's spellings), -vm slow, -qmslow, and -vm=slow
            # (which Python 3.13's argparse reads as slow, and older ones refuse)
            value = flags.group("value")
            expects = not value
            if value:
                found.append(value[1:] if value[0] == "=" else value)
    return found


# pytest's short options that take no value, before an -m in one group (-vm, -qqm)
_FLAGS_THEN_M = re.compile(r"-(?P<flags>[vqsxl]*)m(?P<value>.*)", re.DOTALL)


class _Unanswered:
    """Answers chosen during collection, each with where it goes: written once it is final."""

    def __init__(self) -> None:
        self.answers: list[tuple[Path, dict[str, Any]]] = []
        self.written = False


_SHARD = pytest.StashKey[_Shard]()
_COLLECT = pytest.StashKey[Path]()  # where plan wants the collected node ids
_ERRORS = pytest.StashKey[_CollectionErrors]()
_UNANSWERED = pytest.StashKey[_Unanswered]()
_DESELECTED = pytest.StashKey[_Deselected]()
_OUTSIDE = pytest.StashKey[List[str]]()  # noqa: UP006 - Python 3.8 has no list[str] at run time
_RERUN = pytest.StashKey[Set[str]]()  # noqa: UP006 - the node ids a rerun round runs
_RERUN_FILES = pytest.StashKey[Set[str]]()  # noqa: UP006 - their files, as in node ids


def pytest_addoption(parser: Any) -> None:
    parser.addoption(OPTION, metavar="REQUEST", help="shipline: the shard request (JSON) to run")
    parser.addoption(
        COLLECT_OPTION, metavar="ANSWER", help="shipline: write the collected node ids (JSON)"
    )
    parser.addoption(
        RECORD_OPTION, metavar="ANSWER", help="shipline: write what JUnit does not keep (JSON)"
    )
    parser.addoption(
        RERUN_OPTION, metavar="IDS", help="shipline: run only these node ids (a file, one a line)"
    )


# Options (by their dest) under which pytest does not run each chosen test once and report
# it: their reports would read as passes, or they end the run or pick tests themselves.
_NOT_A_RUN = (
    ("setuponly", "--setup-only"),
    ("setupplan", "--setup-plan"),
    ("usepdb", "--pdb"),
    ("trace", "--trace"),
    ("stepwise", "--sw/--stepwise"),
    ("stepwise_skip", "--sw-skip"),
    ("lf", "--lf/--last-failed"),
    ("showfixtures", "--fixtures"),
    ("show_fixtures_per_test", "--fixtures-per-test"),
    ("markers", "--markers"),
    ("cacheshow", "--cache-show"),
)


def _refuse_what_is_not_a_run(config: Any, *, running: bool) -> None:
    named = [flag for dest, flag in _NOT_A_RUN if config.getoption(dest, None)]
    if "--setup-plan" in named:  # it sets --setup-only too
        named.remove("--setup-only")
    if running and config.getoption("collectonly", None):  # plan collects with it itself
        named.append("--collect-only")
    if config.pluginmanager.is_blocked("junitxml"):
        named.append("-p no:junitxml")
    if named:
        raise pytest.UsageError(
            "shipline runs each test once and reads pytest's JUnit report: "
            f"leave out {', '.join(named)} (in args or the project's addopts)"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: Any) -> None:
    """pytest-randomly seeds ``random`` anew in each process unless it is given a seed, before
    each test too: a test drawing from it would draw other values in its rerun, a new process.
    It gets the hash seed shipline gives every pytest it starts (before its own
    pytest_configure reads the option); a seed in the project's options stands."""
    seed = os.environ.get("PYTHONHASHSEED", "")
    if getattr(config.option, "randomly_seed", None) == "default" and seed.isdigit():
        config.option.randomly_seed = int(seed)


def pytest_configure(config: Any) -> None:
    request_path = config.getoption(OPTION)
    collect_path = config.getoption(COLLECT_OPTION)
    if request_path or collect_path:
        _refuse_what_is_not_a_run(config, running=bool(request_path))
        errors = _CollectionErrors()
        config.pluginmanager.register(errors, "shipline-collection-errors")
        config.stash[_ERRORS] = errors
        config.stash[_UNANSWERED] = _Unanswered()
    if collect_path:
        config.stash[_COLLECT] = Path(collect_path)
        deselected = _Deselected()
        config.pluginmanager.register(deselected, "shipline-deselected")
        config.stash[_DESELECTED] = deselected
    record_path = config.getoption(RECORD_OPTION)
    if record_path and not hasattr(config, "workerinput"):  # not a pytest-xdist worker
        each = config.getoption("dist", None) == "each"  # None without pytest-xdist
        config.pluginmanager.register(_RunRecord(Path(record_path), each=each), "shipline-record")
    rerun_path = config.getoption(RERUN_OPTION)
    if rerun_path:
        rerun = set(Path(rerun_path).read_text(encoding="utf-8").splitlines())
        config.stash[_RERUN] = rerun
        config.stash[_RERUN_FILES] = {nodeid.split("::", 1)[0] for nodeid in rerun}
    if not request_path:
        return
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    controller = not hasattr(config, "workerinput")  # not a pytest-xdist worker
    xdist_coverage = request.get("coverage") and _xdist_workers(config)
    if controller and xdist_coverage and not _subprocesses_measured():
        raise pytest.UsageError(
            "coverage: true measures pytest's own process, and pytest-xdist (-n) runs the "
            "tests in worker processes: leave -n out of a coverage run (in args or the "
            "project's addopts), or have coverage.py measure them too "
            '([tool.coverage.run] patch = ["subprocess"], coverage 7.10 or newer)'
        )
    sharding = _load(request["sharding"])
    modules = None
    if request["keep_together"] == "module":
        modules = sharding.plan_modules(
            request["seconds"],
            request["shards"],
            request["skipped"],
            sharding.in_selection(str(config.rootpath), request["paths"]),
        )
    config.stash[_SHARD] = _Shard(request, sharding, modules)


def _subprocesses_measured() -> bool:
    """Whether the coverage.py measuring this run also measures the processes it starts, into
    the same data file: its ``patch = ["subprocess"]`` (7.10+). (The older start-up hook,
    COVERAGE_PROCESS_START, writes the workers' data where their configuration says, which is
    not the shard's data file, so merge would not see it.)"""
    try:
        import coverage
    except ImportError:
        return False
    current = coverage.Coverage.current()
    return "subprocess" in (getattr(getattr(current, "config", None), "patch", None) or ())


def _xdist_workers(config: Any) -> bool:
    """Whether pytest-xdist will run the tests in workers (``-n 0`` runs them in-process)."""
    return bool(getattr(config.option, "numprocesses", None) or getattr(config.option, "tx", None))


def pytest_ignore_collect(collection_path: Path, config: Any) -> bool | None:
    """Leave another shard's module unimported, and in a rerun round any file of no rerun test
    (a directory named for a file pytest's command line refuses holds others); None lets pytest
    (and other plugins) decide."""
    rerun_files = config.stash.get(_RERUN_FILES, None)
    if rerun_files is not None:
        return _of_no_rerun_test(collection_path, config, rerun_files)
    shard = config.stash.get(_SHARD, None)
    if shard is None or shard.modules is None or collection_path.name in NEVER_SKIPPED:
        return None
    try:
        module = Path(os.path.relpath(collection_path, config.rootpath)).as_posix()  # as node ids
    except ValueError:  # another drive than the rootdir's (Windows): no node id names it
        return None
    if module.startswith("../"):
        # outside the rootdir pytest names the file otherwise in its node ids: collected, and
        # refused (``_outside_the_rootdir``)
        return None
    if module not in shard.modules.modules and not _test_module(collection_path, config):
        return None  # e.g. a directory or a doctest file: collected, and split by owners below
    return True if shard.index not in shard.modules.owners(module) else None


def _of_no_rerun_test(path: Path, config: Any, rerun_files: set[str]) -> bool | None:
    if path.name in NEVER_SKIPPED or not path.is_file():
        return None
    relative = Path(os.path.relpath(path, config.rootpath)).as_posix()  # as node ids
    return True if relative not in rerun_files else None


def _test_module(path: Path, config: Any) -> bool:
    """A file pytest's python plugin would collect (``python_files``; patterns with a path are
    not matched here, so such files are collected by every shard and split after)."""
    patterns = config.getini("python_files")
    return (
        path.suffix == ".py"
        and any(fnmatch.fnmatch(path.name, p) for p in patterns)
        and path.is_file()
    )


@pytest.hookimpl(trylast=True)  # after -m, -k and other plugins have deselected theirs
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    collect_path = config.stash.get(_COLLECT, None)
    if collect_path is not None:
        config.stash[_UNANSWERED].answers.append((collect_path, {}))
    # of the whole collection, before the shard's share: every shard refuses, not only those
    # that got such a test
    outside = _outside_the_rootdir(config, items)
    config.stash[_OUTSIDE] = outside
    shard = config.stash.get(_SHARD, None)
    if shard is not None:
        _choose(shard, config, items)
    rerun = config.stash.get(_RERUN, None)
    if rerun is not None:
        _keep_only(rerun, config, items)
    if outside:
        items[:] = []  # none may run: the answer says why, and shipline refuses the run


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: Any) -> None:
    """Answer with the tests pytest will run, once every plugin has deselected.

    pytest calls this also when collection stopped early (a path not found, -x at a
    collection error): then nothing was chosen, and the answer stays unwritten.
    """
    unanswered = session.config.stash.get(_UNANSWERED, None)
    if unanswered is None or not unanswered.answers:
        return
    # a plugin may still have added tests after ours chose (none known does)
    late = _outside_the_rootdir(session.config, session.items)
    outside = list(dict.fromkeys([*session.config.stash.get(_OUTSIDE, []), *late]))
    if late:
        session.items[:] = []
    tests = [item.nodeid for item in session.items]
    errors = session.config.stash[_ERRORS].found
    checked = {
        "testpaths_missed": _testpaths_missed(session.config),
        "outside_rootdir": outside,
    }
    deselected = session.config.stash.get(_DESELECTED, None)
    if deselected is not None:  # plan's: of other layers
        checked["deselected"] = deselected.ids
        checked["marker_expressions"] = _marker_expressions(session.config)
    for target, answer in unanswered.answers:
        _answer(target, {**answer, "tests": tests, "errors": errors, **checked})
    unanswered.answers.clear()
    unanswered.written = True


def pytest_sessionfinish(session: Any) -> None:
    """A collection error under -x or --maxfail ends the collection before it finishes, and
    nothing was answered: the answer is then the errors, whatever pytest's terminal showed
    (pytest-pretty, -p no:terminal)."""
    config = session.config
    unanswered = config.stash.get(_UNANSWERED, None)
    if unanswered is None or unanswered.written or not config.stash[_ERRORS].found:
        return
    targets = [config.stash[_COLLECT]] if _COLLECT in config.stash else []
    shard = config.stash.get(_SHARD, None)
    if shard is not None:
        targets.append(Path(shard.request["answer"]))
    for target in targets:
        _answer(target, {"tests": [], "errors": config.stash[_ERRORS].found})
    unanswered.written = True


def _testpaths_missed(config: Any) -> bool:
    """The configuration names testpaths, yet pytest collected from the directory it runs in:
    none of them is under the rootdir (pytest only warns, and collects every test below)."""
    source = getattr(config, "args_source", None)  # pytest 7.2 and newer
    # pytest 7 spells the name INCOVATION_DIR
    fallback = getattr(source, "name", "") in ("INVOCATION_DIR", "INCOVATION_DIR")
    return bool(config.getini("testpaths")) and fallback


def _outside_the_rootdir(config: Any, items: list[Any]) -> list[str]:
    """The files of collected tests that lie outside the rootdir (from testpaths or args such
    as ``../other/tests``, or ``--pyargs`` of a package elsewhere): pytest's ids for them are
    no paths under the project, so a rerun by id would run another test of that name, or none.
    Not resolved: a symbolic link in the project to tests elsewhere gives ids under it."""
    root = Path(os.path.normpath(str(config.rootpath)))
    outside: dict[str, None] = {}  # in collection order, each once
    for item in items:
        path = Path(os.path.normpath(str(item.path)))
        if path != root and root not in path.parents:
            outside[str(path)] = None
    return list(outside)


def _keep_only(nodeids: set[str], config: Any, items: list[Any]) -> None:
    """A rerun round runs the failed tests alone: a path among the project's options (args,
    addopts) would add all of its tests to the ids the round names. Every item of a rerun id
    stays: two tests can share an id (pytest 7's parametrize ids, a plugin's collector), and
    which of them failed is not known here; a test that pytest 7 collects twice, under such a
    path and by its id, runs twice, and a failure of either counts."""
    dropped = [item for item in items if item.nodeid not in nodeids]
    if dropped:
        items[:] = [item for item in items if item.nodeid in nodeids]
        config.hook.pytest_deselected(items=dropped)


def _choose(shard: _Shard, config: Any, items: list[Any]) -> None:
    """Keep this shard's share of ``items``; the answer says what was chosen from what."""
    request, sharding = shard.request, shard.sharding
    collected = [item.nodeid for item in items]
    if shard.modules is not None:
        plan = sharding.plan_owned(collected, request["seconds"], shard.modules, request["skipped"])
    else:
        plan = sharding.plan(
            collected,
            request["seconds"],
            request["shards"],
            request["skipped"],
            request["keep_together"],
        )
    chosen = plan.shard(shard.index) if shard.index <= len(plan.shards) else None
    wanted = set(chosen.tests) if chosen else set()
    dropped = [item for item in items if item.nodeid not in wanted]
    items[:] = [item for item in items if item.nodeid in wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    answer = {
        "collected": len(collected),
        "chosen": len(items),  # a plugin deselecting after this hook may still drop some
        "share": list(chosen.tests) if chosen else [],  # ... so the share is kept whole here
        "split": _split(shard, collected),
        "shards": len(plan.shards),
        "seconds": chosen.seconds if chosen else 0.0,
        "unknown": plan.unknown,
        "modules": None if shard.modules is None else _modules(shard, collected),
        # the seed pytest-randomly took (see pytest_cmdline_main); None: it is not loaded
        "randomly_seed": getattr(config.option, "randomly_seed", None),
    }
    config.stash[_UNANSWERED].answers.append((Path(request["answer"]), answer))


def _split(shard: _Shard, collected: list[str]) -> dict[str, Any]:
    """What the shares were split from, the same in every shard job of one matrix cell.

    With modules placed from the history a shard collects only its own modules: what every
    job shares is then the placement, which gives each test its owner, not a collection.
    """
    if shard.modules is not None:
        placed = shard.modules
        return {"basis": "modules", "count": len(placed.placed), "sha256": placed.fingerprint()}
    sharding = shard.sharding
    return {
        "basis": "collected",
        "count": len(set(collected)),
        "sha256": sharding.fingerprint(collected),
    }


def _answer(target: Path, answer: dict[str, Any]) -> None:
    # under pytest-xdist every worker collects and answers the same; replace, never interleave
    partial = target.with_name(f"{target.name}.{os.getpid()}")
    partial.write_text(json.dumps(answer), encoding="utf-8")
    partial.replace(target)


def _modules(shard: _Shard, collected: list[str]) -> list[int]:
    """The history's modules this shard owns, how many it knows, and new modules collected."""
    known = shard.modules.modules
    owned = sum(1 for owners in known.values() if shard.index in owners)
    new = {shard.sharding.module_of(t) for t in collected} - set(known)
    return [owned, len(known), len(new)]


def _load(path: str) -> Any:
    """shipline's sharding.py, from the copy the request names (the same code as the plan's)."""
    spec = importlib.util.spec_from_file_location("_shipline_sharding", path)
    if spec is None or spec.loader is None:
        raise pytest.UsageError(f"shipline: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module
