"""``test-matrix``: plan the shards, run one shard, or merge every shard's reports.

Every input of the chosen mode is parsed and checked before pytest starts, so bad input does
nothing. Results are read from pytest's JUnit XML; an unreadable report, a crashed pytest or
a run that collected no test blocks the job with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import re
import shlex
import sys
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import NoReturn

from shipline.context import ActionContext
from shipline.errors import ToolFailedError, UsageError
from shipline.gha.commands import Annotation, AnnotationLevel
from shipline.gha.inputs import InputError, Inputs
from shipline.gha.summary import Code, Summary, brief, code_span, inline, plain
from shipline.paths import workspace_relative
from shipline.testmatrix import (
    coverage_merge,
    durations,
    marker_expressions,
    pythons,
    quarantine,
    sharding,
)
from shipline.testmatrix import pytest_runner as runner
from shipline.testmatrix.junit import ShardReport, write_merged
from shipline.testmatrix.report import (
    NO_DURATIONS_FILE,
    NO_REPORT_WHY,
    Expected,
    Manifest,
    Verdict,
    check_complete,
    counts,
    judge,
    latest_attempts,
    read_manifests,
    report_stem,
    today_utc,
    valid_label,
)
from shipline.testmatrix.results import Outcome, RunAttempts, TestResult

SUMMARY_ROWS = 30
MATRIX_JOBS = 256  # GitHub's limit on the jobs of one matrix
SUMMARY_CHARS = 300  # of a message in a summary table
ANNOTATION_CHARS = 2000
ANNOTATIONS_PER_LEVEL = 10  # GitHub shows no more errors (or warnings, notices) of a step
SLOWEST = 10
# A rerun round needs a fresh pytest to start and collect: with less of the timeout left it
# would only time out
RERUN_SECONDS_AT_LEAST = 5.0
NOTHING_COLLECTED = (
    "pytest collected no tests for this selection (paths/markers): "
    "a test job that runs nothing must not pass"
)


class Mode(StrEnum):
    PLAN = "plan"
    RUN = "run"
    MERGE = "merge"


class KeepTogether(StrEnum):
    NONE = "none"
    CLASS = "class"
    MODULE = "module"


class FlakyPolicy(StrEnum):
    WARN = "warn"
    FAIL = "fail"


class NoTestsError(ToolFailedError):
    """Nothing collected: a green job would claim tests passed that never ran."""


@dataclass(frozen=True)
class Common:
    """Inputs every mode shares, parsed up front."""

    project: Path
    durations_path: Path
    history: durations.History
    register: quarantine.Register | None
    release_after: int
    flaky: FlakyPolicy
    keep_together: KeepTogether
    workspace: Path


def run(context: ActionContext) -> int:
    inputs = context.inputs
    mode = inputs.choice("mode", Mode)
    common = _common(inputs)
    if mode is Mode.PLAN:
        return _plan(context, common)
    if mode is Mode.RUN:
        return _run(context, common)
    return _merge(context, common)


# --- inputs -----------------------------------------------------------------------------------


def _common(inputs: Inputs) -> Common:
    project = inputs.path("path", must_exist=True)
    if not project.is_dir():
        raise InputError("path", inputs.raw("path"), "a directory")
    durations_path = inputs.path("durations")
    shown = workspace_relative(durations_path, inputs.workspace)
    history = durations.load(durations_path, display=shown)
    register = None
    if inputs.raw("quarantine"):
        register_path = inputs.path("quarantine")
        if not register_path.is_file():
            raise InputError("quarantine", inputs.raw("quarantine"), "an existing YAML file")
        register = quarantine.load(
            register_path, workspace_relative(register_path, inputs.workspace)
        )
    return Common(
        project,
        durations_path,
        history,
        register,
        inputs.integer("release-after", minimum=1),
        inputs.choice("flaky", FlakyPolicy),
        inputs.choice("keep-together", KeepTogether),
        inputs.workspace,
    )


def _test_project(inputs: Inputs, project: Path, environ: Mapping[str, str]) -> runner.Project:
    python = runner.resolve_python(inputs.raw("python"), project, inputs.workspace)
    try:
        extra = shlex.split(inputs.raw("args"))
    except ValueError as error:
        raise InputError(
            "args", inputs.raw("args"), f"shell-quoted pytest options ({error})"
        ) from None
    if any(option.split("=", 1)[0] == "--rootdir" for option in extra):
        # it would override the project directory that every node id is relative to, and
        # the reruns (which name tests by id from that directory) could find none
        raise InputError(
            "args",
            inputs.raw("args"),
            "pytest options without --rootdir: the rootdir is the project directory (path)",
        )
    plugins = [b for a, b in itertools.pairwise(extra) if a == "-p"]
    plugins += [option.removeprefix("-p") for option in extra if option.startswith("-pno:")]
    if "no:junitxml" in plugins:
        # pytest would refuse shipline's own --junitxml before anything could say why
        raise InputError(
            "args",
            inputs.raw("args"),
            "pytest options without -p no:junitxml: shipline reads pytest's JUnit report",
        )
    options = [*extra]
    if inputs.raw("markers"):
        options += ["-m", inputs.raw("markers")]
    paths = inputs.items("paths")
    for item in paths:
        # not resolved: a symbolic link in the project to tests elsewhere gives ids under it
        inside = Path(os.path.normpath(project / item)).is_relative_to(os.path.normpath(project))
        if not inside or not (project / item).exists():
            raise InputError("paths", item, "existing paths inside the project")
    timeout = inputs.duration("timeout")
    if timeout <= 0:
        raise InputError("timeout", inputs.raw("timeout"), "a duration above zero")
    seed = runner.hash_seed(environ)
    return runner.Project(project, python, tuple(paths), tuple(options), timeout, seed)


def _collect(context: ActionContext, test_project: runner.Project) -> runner.Collected:
    with context.console.group("Collecting tests"):
        collection = runner.collect(test_project)
        context.console.info(
            f"{len(collection.tests)} test(s) collected with {test_project.python}"
        )
    if not collection.tests:
        raise NoTestsError(NOTHING_COLLECTED)
    return collection


# --- plan -------------------------------------------------------------------------------------


def _plan(context: ActionContext, common: Common) -> int:
    inputs = context.inputs
    requested = inputs.integer("shards", minimum=1) if inputs.raw("shards") else None
    target = inputs.duration("target")
    if target <= 0:
        raise InputError("target", inputs.raw("target"), "a duration above zero")
    max_shards = inputs.integer("max-shards", minimum=1, maximum=256)
    oses = inputs.items("os")
    if not oses or len(set(oses)) < len(oses):
        raise InputError("os", inputs.raw("os"), "distinct runner labels, at least one")
    if any(label.lower().startswith("windows") for label in oses):
        # scripts/bootstrap builds the action's environment the POSIX way (bin/python)
        raise InputError(
            "os",
            inputs.raw("os"),
            "labels of Linux or macOS runners: shipline does not run on Windows",
        )
    versions = _python_versions(inputs, common.project)
    test_project = _test_project(inputs, common.project, context.environ)
    # GitHub refuses a matrix of more than 256 jobs when the workflow runs, not before
    most = max(1, MATRIX_JOBS // (len(oses) * max(1, len(versions))))
    if requested and requested > most:
        raise InputError(
            "shards",
            inputs.raw("shards"),
            f"at most {most}, so that Python x OS x shards stays within GitHub's "
            f"{MATRIX_JOBS} jobs per matrix",
        )

    runner.check_pytest(test_project)
    collection = _collect(context, test_project)
    tests = collection.tests
    in_place_of = marker_expressions.set_aside(inputs.raw("markers"), collection.marker_expressions)
    if in_place_of:
        context.console.notice(in_place_of, title="test-matrix plan")
    estimates, _ = sharding.estimate(tests, common.history.seconds, common.history.skipped)
    # sized for the slowest matrix cell of the last merge: the history holds the mean cell
    slowest = common.history.slowest_cell
    wanted = requested or sharding.choose_shard_count(
        estimates, target / slowest, min(max_shards, most)
    )
    plan, modules = _shard_plan(tests, common, wanted, test_project)
    capped = None
    cap = "max-shards" if max_shards <= most else f"GitHub's {MATRIX_JOBS} jobs per matrix"
    needed = (
        0 if requested else sharding.choose_shard_count(estimates, target / slowest, len(tests))
    )
    if plan.unknown < len(tests) and needed > wanted:  # measured: an estimate to warn of
        capped = (
            f"target {inputs.raw('target')} needs {needed} shards, but {cap} allows "
            f"{wanted}: the longest shard is estimated at "
            f"{plan.makespan * slowest:.1f} s, so mind the shard jobs' timeouts"
        )
        context.console.warning(capped, title="test-matrix plan")
    own = runner.interpreter_version(test_project)
    versions = versions or [own]
    if common.register is not None and _collected_as_every_cell(oses, versions, own):
        _warn_of_entries_of_no_test(context, common.register, collection)
    matrix = {"python": versions, "os": oses, "shard": [s.index for s in plan.shards]}
    files = context.files
    files.set_output("matrix", json.dumps(matrix, separators=(",", ":")))
    files.set_output("shards", len(plan.shards))
    files.set_output("python-versions", json.dumps(versions))
    files.set_output("estimated-seconds", f"{plan.makespan * slowest:.1f}")
    files.set_output("tests", len(tests))
    files.set_output("outcome", "pass")

    bound = sharding.lower_bound(plan.estimates.values(), len(plan.shards))
    summary = Summary().heading(
        f"Test plan: {len(plan.shards)} shard(s) x {len(versions)} Python x {len(oses)} OS"
    )
    note = ""
    if requested and requested > len(plan.shards):
        why = "modules" if modules else f"{len(tests)} collected test(s)"
        note = f" (asked for {requested}; capped so that none is without {why})"
    if plan.unknown < len(tests):
        summary.paragraph(
            f"**{len(tests)}** tests, **{plan.unknown}** without a stored duration (given the "
            f"median){note}. Estimated longest shard **{plan.makespan:.1f} s** of test time"
            + (f", {plan.makespan / bound:.3f}x the lower bound." if bound else ".")
            + (
                f" The last merge's slowest matrix cell took {slowest:.2f}x the mean cell: "
                f"**{plan.makespan * slowest:.1f} s** there."
                if slowest > 1
                else ""
            )
        )
        if capped:
            summary.paragraph(f"⚠️ {capped[0].upper()}{capped[1:]}.")
        summary.table(
            ["Shard", "Tests", "Estimated test time"],
            [[s.index, len(s.tests), f"{s.seconds:.1f} s"] for s in plan.shards],
        )
    else:  # 1 s per test would read as a time estimate
        sized = (
            ""
            if requested
            else (
                f"; {len(plan.shards)} shard(s) for target {inputs.raw('target')} as if each test "
                f"took {sharding.DEFAULT_ESTIMATE:g} s"
                + (f" ({needed} at that rate, capped by {cap})" if needed > wanted else "")
                + ", until a merge has measured them"
            )
        )
        summary.paragraph(f"**{len(tests)}** tests, {sharding.UNMEASURED}{note}{sized}.")
        summary.table(["Shard", "Tests"], [[s.index, len(s.tests)] for s in plan.shards])
    summary.paragraph(
        f"Python: {inline(', '.join(versions))}; OS: {inline(', '.join(oses))}; "
        f"keep together: {common.keep_together.value}; pytest collected with "
        f"`PYTHONHASHSEED={test_project.hash_seed}`"
        + (
            f"; the {modules} module(s) of the durations file are placed before collection, "
            "each shard collects only its own"
            if modules
            else ""
        )
    )
    if in_place_of:
        summary.paragraph(inline(f"{in_place_of[0].upper()}{in_place_of[1:]}."))
    context.write_summary(summary)
    return 0


def _collected_as_every_cell(oses: Sequence[str], versions: Sequence[str], own: str) -> bool:
    """Whether plan's collection is the one every matrix cell makes: one OS, and one Python,
    both the plan's own. A test defined, or given a parameter, on one Python or OS only is none
    of the plan's elsewhere, and its entry would look renamed. A runner label whose OS is not
    known (a self-hosted one) is taken for another OS."""
    return (
        len(oses) == 1
        and _RUNNER_PLATFORMS.get(oses[0].lower().split("-")[0]) == sys.platform
        and len(versions) == 1
        and versions[0] == own
    )


# GitHub-hosted runner labels (ubuntu-24.04, macos-15, ...) by their first word
_RUNNER_PLATFORMS = {"ubuntu": "linux", "macos": "darwin"}


def _warn_of_entries_of_no_test(
    context: ActionContext, register: quarantine.Register, collection: runner.Collected
) -> None:
    """Warnings on entries naming no test of a file this layer collects from (merge sees only
    the tests that ran, not the deselected tests of other layers, so plan warns)."""
    found = quarantine.naming_no_collected_test(
        register, collection.tests, collection.deselected, today_utc()
    )
    for entry, file in found:
        context.console.annotate(
            _on_entry(
                register,
                entry,
                AnnotationLevel.WARNING,
                f"{entry.test} is no test that pytest collects from {file} (deselected ones "
                "counted in): was it renamed or deleted, or its parameters changed? Update the "
                "entry to the test's id, or remove it",
            )
        )


def _empty_shard(chosen: runner.Selection, shard: int, shards: int) -> str:
    """Why a shard had no test to run: never a green job that ran nothing."""
    if chosen.chosen:
        return (
            f"shard {shard} of {shards} has no tests: a plugin deselected the {chosen.chosen} "
            "test(s) shipline chose for it after choosing them (pytest's --lf does, or a hook "
            "wrapper in a conftest): run the shards without it"
        )
    if chosen.modules is not None:
        # only this shard's modules were collected: the layer may be empty, or the history
        # (which placed them) may not match what the layer collects now
        return (
            f"shard {shard} of {shards} has no tests: its modules, placed from the durations "
            f"file, gave {chosen.collected} test(s) for this selection; check paths/markers "
            "and that the durations file belongs to this layer (plan, on the same selection and "
            "file, plans only as many shards as hold tests)"
        )
    if not chosen.collected:
        return NOTHING_COLLECTED
    return (
        f"shard {shard} of {shards} has no tests: only {chosen.collected} were collected "
        "(re-plan so the shard count follows the collection)"
    )


def _refuse_stopped(
    context: ActionContext,
    common: Common,
    first: runner.Attempt,
    unreported: Sequence[str],
    assigned: int,
    today: dt.date,
) -> NoReturn:
    """A shard whose run was stopped before every test was seen to its end fails, naming why."""
    # e.g. -x or --maxfail in args, or a crash: a test that never ran must not pass, nor
    # one whose worker pytest-xdist stopped (under --dist each another worker may have
    # reported it; an xdist before 3.4 stops a worker in the middle of a teardown). The
    # failures that stopped it are annotated, as pytest lists them: no report is written
    stoppers = [r for r in first.results if r.outcome.failing]
    stopped = _verdict(common, stoppers, today)
    _annotate(context, common, stopped)
    after = (
        f", after {len(stoppers)} failing test(s) (first: {stoppers[0].nodeid})" if stoppers else ""
    )
    if stopped.quarantined:  # pytest knows no quarantine: it stops on those failures too
        after += (
            f"; {len(stopped.quarantined)} of them quarantined, which pytest's -x and "
            "--maxfail count like any failure"
        )
    if unreported:
        raise ToolFailedError(
            f"{len(unreported)} of the shard's {assigned} tests did not run "
            f"(first: {unreported[0]}): -x or --maxfail (in args or the project's addopts), "
            f"pytest.exit() in a test, or a crash stopped the run{after}"
        )
    raise ToolFailedError(
        "pytest-xdist's -x or --maxfail (in args or the project's addopts) stopped the run "
        "and its workers with it: nothing shows that each test ran to its end on every "
        f"worker, so the shard fails; leave them out under -n{after}"
    )


def _stopped_by_xdist(attempt: runner.Attempt) -> bool:
    """pytest-xdist's -x or --maxfail ended the run: the only exit code 2 the runner lets by."""
    return attempt.returncode == runner.INTERRUPTED


def _fewer(chosen: runner.Selection, shards: int) -> str:
    """What the plan left out when it made fewer shards than asked (it never makes an empty one)."""
    if chosen.shards >= shards:
        return ""
    left_out = (
        f"shard {shards} gets"
        if chosen.shards + 1 == shards
        else f"shards {chosen.shards + 1}-{shards} get"
    )
    return (
        f"; the {chosen.collected} collected test(s) fill only {chosen.shards} of the {shards} "
        f"shards, so {left_out} none (re-plan so the shard count follows the collection)"
    )


def _shard_plan(
    tests: list[str], common: Common, wanted: int, test_project: runner.Project
) -> tuple[sharding.Plan, int]:
    """The plan the shard jobs will follow, and how many modules it placed before collection.

    With keep-together module and a history, the shards place the history's modules without
    collecting (shard_plugin.py): the same placement here, applied to this collection, shows
    what each of them will run. A shard whose modules hold no test of this collection would
    fail, so the count goes down until none is empty.
    """
    history = common.history
    selected = sharding.in_selection(test_project.directory, test_project.paths)
    count = wanted
    while True:
        modules = None
        if common.keep_together is KeepTogether.MODULE:
            modules = sharding.plan_modules(history.seconds, count, history.skipped, selected)
        if modules is None:
            plan = sharding.plan(
                tests, history.seconds, count, history.skipped, common.keep_together.value
            )
            return plan, 0
        owned = sharding.plan_owned(tests, history.seconds, modules, history.skipped)
        if count == 1 or all(shard.tests for shard in owned.shards):
            return owned, len(modules.modules)
        count -= 1


def _python_versions(inputs: Inputs, project: Path) -> list[str]:
    given = inputs.items("python-versions")
    for version in given:
        if not pythons.VERSION.match(version):
            raise InputError("python-versions", version, "versions such as 3.12 or 3.13")
    if len(set(given)) < len(given):
        raise InputError("python-versions", inputs.raw("python-versions"), "distinct versions")
    if given:
        return given
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return []
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        return pythons.project_versions(data, today_utc())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, pythons.SpecifierError) as error:
        raise UsageError(
            f"cannot read the Python versions from {pyproject}: {error} "
            "(or set the python-versions input)"
        ) from None


# --- run --------------------------------------------------------------------------------------


def _run(context: ActionContext, common: Common) -> int:
    inputs = context.inputs
    shards = inputs.integer("shards", minimum=1)
    shard = inputs.integer("shard", minimum=1)
    if shard > shards:
        raise InputError("shard", inputs.raw("shard"), f"an index from 1 to {shards} (shards)")
    label = inputs.raw("label")
    if not valid_label(label):
        raise InputError("label", label, "letters, digits, '.', '_' or '-'")
    reruns = inputs.integer("reruns", minimum=0, maximum=10)
    measure = inputs.boolean("coverage")
    results_dir = inputs.path("results")
    test_project = _test_project(inputs, common.project, context.environ)
    runner.check_pytest(test_project)
    if measure:
        runner.check_coverage(test_project)
    if any(o.split("=", 1)[0] in ("--junitxml", "--junit-xml") for o in test_project.options):
        context.console.warning(
            "args: shipline's own --junitxml comes after yours and wins; the shard's report "
            f"is in {inputs.raw('results')}, and merge writes junit.xml of every shard",
            title="test-matrix",
        )
    today = today_utc()

    stem = report_stem(shard, shards, label)
    created = not results_dir.exists()
    results_dir.mkdir(parents=True, exist_ok=True)
    coverage_data = results_dir / f"coverage-{stem}" if measure else None
    console = context.console
    started = time.monotonic()
    request = runner.ShardRequest(
        shards,
        shard,
        common.history.seconds,
        common.history.skipped,
        common.keep_together.value,
    )
    with console.group(f"Shard {shard}/{shards}"), console.verbatim() as echo:
        try:
            ran = runner.run_shard(
                test_project,
                request,
                results_dir / f"{stem}.xml",
                echo=echo,
                coverage_data=coverage_data,
            )
        except UsageError:  # pytest refused the options: bad input leaves nothing behind
            (results_dir / f"{stem}.xml").unlink(missing_ok=True)  # pytest writes it anyway
            for data in results_dir.glob(f"coverage-{stem}.*"):  # and coverage.py its data
                data.unlink(missing_ok=True)
            if created:
                with suppress(OSError):
                    results_dir.rmdir()
            raise
    chosen = ran.selection
    if ran.attempt is None:
        raise NoTestsError(_empty_shard(chosen, shard, shards))
    first = ran.attempt
    assigned = chosen.tests
    if chosen.modules is None:
        scope = f"{len(assigned)} of {chosen.collected} collected test(s)"
    else:
        owned, known, new = chosen.modules
        scope = (
            f"{len(assigned)} test(s) from {owned} of the {known} modules in the durations "
            f"file and {new} module(s) new to it (only these were collected)"
        )
    console.info(f"Shard {shard}/{shards}: {scope}, {chosen.estimated}{_fewer(chosen, shards)}")
    final = {r.nodeid: r for r in first.results}
    unreported = [n for n in assigned if n not in final]
    if unreported or _stopped_by_xdist(first):
        _refuse_stopped(context, common, first, unreported, len(assigned), today)
    junit_files = [f"{stem}.xml"]
    still_failing = [r.nodeid for r in first.results if r.outcome.failing]
    not_rerun: list[str] = []  # why failing tests were not rerun: the summary says it too
    for attempt in range(1, reruns + 1):
        if not still_failing:
            break
        # the reruns get what the shard's first run left of the timeout, so that a job whose
        # timeout-minutes holds the timeout is never cancelled by GitHub before shipline stops
        left = round(test_project.timeout - (time.monotonic() - started), 1)
        if left < RERUN_SECONDS_AT_LEAST:
            not_rerun.append(
                f"only {max(left, 0):g} s left of timeout {inputs.raw('timeout')}, under the "
                f"{RERUN_SECONDS_AT_LEAST:g} s a rerun needs: {len(still_failing)} failing "
                "test(s) not rerun, their failures stand"
            )
            console.warning(not_rerun[-1], title="test-matrix")
            break
        report = results_dir / f"{stem}-rerun{attempt}.xml"
        with (
            console.group(f"Rerun {attempt}: {len(still_failing)} failing test(s)"),
            console.verbatim() as echo,
        ):
            try:
                again = runner.run(
                    replace(test_project, timeout=left),
                    still_failing,
                    report,
                    echo=echo,
                    coverage_data=coverage_data,
                )
            except runner.PytestTimeoutError as error:
                raise runner.PytestTimeoutError(
                    f"rerun {attempt}, in the {left:g} s left of timeout "
                    f"{inputs.raw('timeout')}: {error}"
                ) from None
        junit_files.append(report.name)
        if _stopped_by_xdist(again):
            raise ToolFailedError(
                f"rerun {attempt}: pytest-xdist's -x or --maxfail (in args or the project's "
                "addopts) stopped the rerun and its workers with it: nothing shows that each "
                "test ran to its end on every worker, so the shard fails; leave them out under -n"
            )
        rerun = set(still_failing)
        for result in again.results:
            if result.nodeid not in rerun:
                # the plugin runs the given ids alone; should a plugin of the project add
                # tests after it chose, those did not fail here, and may be other shards'
                continue
            # the first failure's message, time and place are what the report shows
            before = final[result.nodeid]
            # flaky within the round: a plugin (pytest-rerunfailures) got it to pass there
            passed = result.outcome in (Outcome.PASSED, Outcome.FLAKY)
            final[result.nodeid] = replace(
                before,
                outcome=Outcome.FLAKY if passed else before.outcome,
                attempts=before.attempts + result.attempts,  # with the plugin's in this round
                errored_first=passed and before.outcome is Outcome.ERROR,
            )
        answered = {result.nodeid for result in again.results}
        missed = [n for n in still_failing if n not in answered]
        if missed:
            # e.g. a conftest that deselects them: no later round would run them either
            not_rerun.append(
                f"rerun {attempt} did not run {len(missed)} of the failing test(s) it named "
                f"(first: {missed[0]}): not rerun, their failures stand"
            )
            console.warning(not_rerun[-1], title="test-matrix")
        still_failing = [n for n in still_failing if final[n].outcome.failing and n in answered]
    seconds = time.monotonic() - started
    results = [final[n] for n in sorted(final)]
    coverage_files = (
        sorted(p.name for p in results_dir.glob(f"coverage-{stem}.*")) if measure else []
    )
    if measure and not coverage_files:
        raise ToolFailedError("coverage.py wrote no data for this shard")
    manifest = Manifest(
        shard,
        shards,
        label,
        runner.interpreter_version(test_project),
        str(common.project),
        list(assigned),
        results,
        seconds,
        junit_files,
        coverage_files,
        common.flaky is FlakyPolicy.FAIL,
        chosen.split,
        uuid.uuid4().hex,
        workspace_relative(common.project, common.workspace),
        _run_attempt(context.environ),
        _checksum(common.durations_path),
        common.register.path if common.register else "",
        common.register.fingerprint() if common.register else "",
    )
    manifest_path = results_dir / f"{stem}.json"
    manifest_path.write_text(json.dumps(manifest.to_json(), indent=1) + "\n", encoding="utf-8")

    verdict = _verdict(common, results, today)
    _annotate(context, common, verdict)
    if common.register is not None and verdict.failed:
        # a failure the register was meant to hold: the entry's mistake, said where it fails
        # (merge says it too; a passing shard leaves it to merge, once)
        tests = [r.nodeid for r in results]
        within = " of this shard" if shards > 1 else ""
        _warn_of_entries(context, common.register, tests, common.project, today, within)
    _set_result_outputs(context, results, verdict, verdict.passed)
    context.files.set_output("junit", results_dir / f"{stem}.xml")
    title = f"Tests, shard {shard}/{shards}" + (f" ({plain(label)})" if label else "")
    summary = _results_summary(title, results, verdict, common, today)
    randomly = f", `--randomly-seed={chosen.randomly_seed}`" if chosen.randomly_seed else ""
    summary.paragraph(
        f"Wall time **{seconds:.1f} s** ({chosen.estimated}); pytest ran with "
        f"`PYTHONHASHSEED={test_project.hash_seed}`{randomly}."
    )
    for why in not_rerun:
        summary.paragraph(inline(f"⚠️ {why[0].upper()}{why[1:]}."))
    context.write_summary(summary)
    return 0 if verdict.passed else 1


def _checksum(path: Path) -> str:
    """The durations file a shard planned with, as a checksum (NO_DURATIONS_FILE: none)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return NO_DURATIONS_FILE


def _run_attempt(environ: Mapping[str, str]) -> int:
    """GitHub's attempt of this workflow run (1, then 2 after a re-run); 0 outside Actions."""
    value = environ.get("GITHUB_RUN_ATTEMPT", "")
    return int(value) if value.isascii() and value.isdigit() else 0


# --- merge ------------------------------------------------------------------------------------


def _merge(context: ActionContext, common: Common) -> int:
    inputs = context.inputs
    results_dir = inputs.path("results")
    threshold = _threshold(inputs)
    expected = _expected(inputs)
    if not results_dir.is_dir():
        raise ToolFailedError(f"no shard reports: {inputs.raw('results')} is not a directory")
    today = today_utc()
    manifests, replaced = latest_attempts(
        read_manifests(results_dir), expected.cells if expected else None
    )
    if not manifests:
        raise ToolFailedError(
            f"no shard reports (shard-*.json) under {inputs.raw('results')} ({NO_REPORT_WHY})"
        )
    turned_flaky, stood = _flaky_across_attempts(manifests, replaced)
    check_complete(manifests, expected)
    _check_same_project(manifests, common, inputs.raw("path"))
    _check_same_register(manifests, common, inputs.raw("quarantine"))
    if any(m.flaky_fails for m in manifests):
        common = replace(common, flaky=FlakyPolicy.FAIL)  # a shard's flaky: fail holds here too
    manifests.sort(key=lambda m: (m.label, m.shard))
    every = [r for m in manifests for r in m.results]
    combined = durations.combine_runs(every)
    if not combined:
        raise NoTestsError("the shards ran no tests: a test job that runs nothing must not pass")

    # everything that can make the run unjudgeable is checked before anything is written
    coverage_total = _combine_coverage(context, common, manifests, results_dir, threshold)
    active = common.register.active(today) if common.register else {}
    merged_junit = _merged_junit(results_dir, manifests, active)
    held = frozenset(active)
    history, again, overridden = _next_history(common.history, manifests, replaced, held)
    common.durations_path.parent.mkdir(parents=True, exist_ok=True)
    common.durations_path.write_text(history.to_text(), encoding="utf-8")

    results = list(combined.values())
    verdict = _verdict(common, results, today)
    _annotate(context, common, verdict)
    below = coverage_total is not None and coverage_total.below
    if coverage_total is not None:
        context.files.set_output("coverage", coverage_total.shown)
        if coverage_total.below:
            context.console.error(
                f"total coverage {coverage_total.shown}% is below {coverage_total.gate}",
                title="test-matrix coverage",
            )
    context.files.set_output("junit", merged_junit)
    context.files.set_output("durations", common.durations_path)
    passed = verdict.passed and not below
    _set_result_outputs(context, results, verdict, passed)

    cells = _cells_not_passed(manifests) if len({m.label for m in manifests}) > 1 else None
    summary = _results_summary(
        "Tests, all shards",
        results,
        verdict,
        common,
        today,
        passed=passed,
        cells=cells,
        coverage=coverage_total,
    )
    failed = {r.nodeid for r in verdict.failed}
    flaky = {r.nodeid for r in verdict.flaky}
    # a heading of its own: under the last section's, the table would read as part of it
    rerun = any(m.attempt > 1 for m in manifests)  # which attempt each report is from
    summary.heading("Shards", 3).table(
        [
            "Shard",
            "Python",
            "Tests",
            "Failed",
            "Flaky",
            "Wall time",
            *(["Attempt"] if rerun else []),
        ],
        [
            [
                m.stem,
                m.python,
                len(m.results),
                sum(1 for r in m.results if r.outcome.failing and r.nodeid in failed),
                sum(1 for r in m.results if r.outcome is Outcome.FLAKY and r.nodeid in flaky),
                f"{m.seconds:.1f} s",
                *([m.attempt] if rerun else []),
            ]
            for m in manifests
        ],
    )
    slowest = sorted(results, key=lambda r: (-r.seconds, r.nodeid))[:SLOWEST]
    summary.details(
        f"Slowest {len(slowest)} tests",
        Summary().table(
            ["Test", "Time"], [[Code(r.nodeid), _test_time(r.seconds)] for r in slowest]
        ),
    )
    if common.register is not None:
        _report_register(
            context, common.register, common.release_after, common.project, history, summary, today
        )
    if replaced:
        summary.paragraph(_set_aside(replaced, turned_flaky, stood, held))
    written = f"Durations of {len(history.tests)} tests written to `{workspace_relative(common.durations_path, inputs.workspace)}`."
    if again:
        written += (
            f" {again} of the {len(manifests) + len(replaced)} shard reports were counted by an "
            "earlier merge (a re-run): their tests' durations and pass streaks are kept as they "
            "were"
            + (
                f", but for {overridden} test(s) that a newer attempt failed, found flaky, or "
                "ran where the earlier merge saw them skipped: recorded as it found them."
                if overridden
                else "."
            )
        )
    summary.paragraph(written)
    context.write_summary(summary)
    # the job log's last word, as pytest ends its own: the summary is a click away
    after_tally = ""
    if coverage_total is not None:
        gate = f", below {coverage_total.gate}" if below else ""
        after_tally = f" Coverage {coverage_total.shown}%{gate}."
    if verdict.expired:  # "0 failed" alone would read as a pass
        many = len(verdict.expired)
        after_tally += f" {many} quarantine entr{'y' if many == 1 else 'ies'} expired."
    context.console.info(f"Merged: {_tally(results, verdict, str(len(results)))}{after_tally}")
    return 0 if passed else 1


def _next_history(
    history: durations.History,
    manifests: Sequence[Manifest],
    replaced: Sequence[Manifest],
    held: frozenset[str],
) -> tuple[durations.History, int, int]:
    """The durations file after this merge, how many of its shard reports an earlier merge
    already counted (a re-run), and for how many tests of those the newer attempt overrides it.

    The tests of a report an earlier merge counted keep their entries, that merge counted this
    run for them, whether the report is among this merge's (a matrix cell not re-run) or set
    aside for a newer attempt; unless a report new to this merge failed them or found them
    flaky: then their worst outcome over this run's reports is recorded, without a second
    sample (``durations.overrides``: or ran them where that merge saw them skipped, and then
    they are counted now). A pass must not be counted twice, nor a failure hidden by the pass
    counted before."""
    counted = {m.report_id for m in [*manifests, *replaced] if m.report_id in history.reports}
    fresh = durations.combine_runs(
        r for m in manifests if m.report_id not in counted for r in m.results
    )
    now = durations.combine_runs(r for m in manifests for r in m.results)
    # in any report of this merge's or a set-aside one (another matrix cell's, too)
    counted_tests = {
        r.nodeid for m in [*manifests, *replaced] if m.report_id in counted for r in m.results
    }
    overridden = {
        t
        for t in counted_tests & fresh.keys()
        if durations.overrides(history.tests.get(t), fresh[t])
    }
    merged = durations.merge(
        history,
        {**fresh, **{t: now[t] for t in overridden}},  # its worst over this run's reports
        quarantined=held,
        counted_before=counted_tests - overridden,
        overridden=overridden,
        reports=(m.report_id for m in [*manifests, *replaced] if m.report_id),
    )
    measured = durations.slowest_cell(_cells(manifests))
    merged = replace(merged, slowest_cell=history.slowest_cell if measured is None else measured)
    return (
        merged,
        sum(1 for m in [*manifests, *replaced] if m.report_id in counted),
        len(overridden),
    )


def _flaky_across_attempts(
    manifests: Sequence[Manifest], replaced: Sequence[Manifest]
) -> tuple[list[TestResult], list[TestResult]]:
    """A test that failed (or was flaky) in a report set aside for a newer attempt and passed in
    the newer one is flaky, as one that passed on rerun within the shard: "Re-run failed jobs"
    must not hide it (``flaky: fail`` holds, and a quarantined one does not count the pass). A
    failure the newer attempt answered with a skip stands. Returns the tests turned flaky and
    those whose failure stood."""
    earlier = {
        (m.label, r.nodeid): (r, m.attempt)
        for m in sorted(replaced, key=lambda m: m.attempt)  # the newest of each test
        for r in m.results
        if r.outcome.failing or r.outcome is Outcome.FLAKY
    }
    flaky: list[TestResult] = []
    stood: list[TestResult] = []
    for m in manifests:
        for index, result in enumerate(m.results):
            found = earlier.get((m.label, result.nodeid))
            if found is None or result.outcome.failing:
                continue
            before, attempt = found
            failed_now = before.outcome.failing and result.outcome is Outcome.SKIPPED
            m.results[index] = replace(
                before,
                outcome=before.outcome if failed_now else Outcome.FLAKY,
                errored_first=before.errored_first or before.outcome is Outcome.ERROR,
                run_attempts=RunAttempts(attempt, before.outcome, m.attempt, result.outcome),
            )
            (stood if failed_now else flaky).append(m.results[index])
    return flaky, stood


def _check_same_project(manifests: Sequence[Manifest], common: Common, given: str) -> None:
    """Merge reads the project's coverage settings and places annotations from its own
    ``path``: on another directory than the shards ran in, a coverage gate would be skipped
    and annotations would name files that do not exist."""
    here = workspace_relative(common.project, common.workspace)
    for m in manifests:
        if m.path and m.path != here:
            raise InputError(
                "path",
                given,
                f"the project directory the shards ran in ({m.path}, says {m.source})",
            )


def _check_same_register(manifests: Sequence[Manifest], common: Common, given: str) -> None:
    """Merge judges the tests again: without the quarantine register a shard judged with, a
    test that shard let pass as quarantined would fail the required check with no word of why.
    (Shards run without one leave merge free to judge with one.)"""
    here = common.register.fingerprint() if common.register else ""
    for m in manifests:
        if m.register_sha256 and m.register_sha256 != here:
            differ = ": its entries differ" if common.register else ""
            raise InputError(
                "quarantine",
                given,
                f"the register the shards ran with ({m.register}, says {m.source}){differ}",
            )


def _set_aside(
    replaced: Sequence[Manifest],
    turned_flaky: Sequence[TestResult],
    stood: Sequence[TestResult],
    quarantined: Collection[str],
) -> str:
    """What the reports of earlier attempts were, and what they changed: each test counted
    once, as in the headline (failed in one cell and flaky in another: failed; quarantined:
    apart)."""
    shown = ", ".join(
        f"{code_span(m.stem)} (attempt {m.attempt})"
        for m in sorted(replaced, key=lambda m: (m.label, m.shard, m.attempt))
    )
    said = (
        f"Set aside {len(replaced)} shard report(s) of earlier attempts of this run (their "
        f"shards ran again, or the plan was made again): {shown}."
    )
    failed = {r.nodeid for r in stood}
    flaky = {r.nodeid for r in turned_flaky} - failed  # a failure in one cell outweighs
    held = (flaky | failed) & set(quarantined)
    # failed there for good (in some cell), not only at first: then it passed in the newer
    # attempt; one that was flaky there (passed on a rerun) stays flaky whatever the newer did
    failed_there = {r.nodeid for r in turned_flaky if r.run_attempts and r.run_attempts.was.failing}
    if (flaky & failed_there) - held:
        said += (
            f" {len((flaky & failed_there) - held)} test(s) that failed there passed in the "
            "newer attempt: flaky."
        )
    if flaky - failed_there - held:
        said += (
            f" {len(flaky - failed_there - held)} test(s) that were flaky there (passed on a "
            "rerun) stay flaky."
        )
    if failed - held:
        said += (
            f" {len(failed - held)} test(s) that failed there were skipped in the newer one: "
            "they failed."
        )
    if held:
        said += f" {len(held)} quarantined test(s) did not pass there at first."
    return said


def _cells(manifests: Sequence[Manifest]) -> dict[str, list[TestResult]]:
    """Each matrix cell's results, from all of its shards."""
    cells: dict[str, list[TestResult]] = {}
    for m in manifests:
        cells.setdefault(m.label, []).extend(m.results)
    return cells


def _merged_junit(
    results_dir: Path, manifests: Sequence[Manifest], quarantined: Mapping[str, quarantine.Entry]
) -> Path:
    """``junit.xml`` from every shard's first attempt, flaky tests shown as passed, failures
    an earlier run attempt left unanswered as failed, a crashed worker's test as failed and a
    quarantined failure as skipped; each shard's report must hold the tests its shard report
    says it ran."""
    merged = results_dir / "junit.xml"
    unchecked = results_dir / ".junit.xml.partial"  # a refused merge leaves no report behind
    cases = write_merged(
        unchecked,
        [
            ShardReport(
                results_dir / m.junit[0],
                m.stem,
                {
                    r.nodeid: (_flaky_tag(r), r.message, r.details)
                    for r in m.results
                    if r.outcome is Outcome.FLAKY
                },
                {
                    r.nodeid: (_junit_tag(r), _told(r, r.message), r.details)
                    for r in m.results
                    if r.run_attempts is not None
                },
                {
                    r.nodeid: (r.message, r.details)
                    for r in m.results
                    if r.outcome is Outcome.FAILED and r.run_attempts is None
                },
                {
                    r.nodeid: _held_by(quarantined[r.nodeid])
                    for r in m.results
                    if r.outcome.failing and r.nodeid in quarantined
                },
            )
            for m in manifests
        ],
    )
    for m, count in zip(manifests, cases, strict=True):
        if count != len(m.results):
            unchecked.unlink()
            raise ToolFailedError(
                f"{m.junit[0]} holds {count} test(s) but its shard report {m.source} "
                f"{len(m.results)}: the reports do not belong together"
            )
    unchecked.replace(merged)
    return merged


def _held_by(entry: quarantine.Entry) -> str:
    return (
        f"quarantined until {entry.expires.isoformat()} (owner {entry.owner}, {entry.issue}): "
        f"{entry.reason}"
    )


def _junit_tag(result: TestResult) -> str:
    """How junit.xml shows what an earlier run attempt's failure came to: a failure or error
    that stands, or (as pytest-rerunfailures writes it) the failure of a flaky test."""
    if result.outcome is Outcome.ERROR:
        return "error"
    if result.outcome is Outcome.FLAKY:
        return _flaky_tag(result)
    return "failure"


def _flaky_tag(result: TestResult) -> str:
    return "flakyError" if result.errored_first else "flakyFailure"


def _report_register(
    context: ActionContext,
    register: quarantine.Register,
    release_after: int,
    project: Path,
    history: durations.History,
    summary: Summary,
    today: dt.date,
) -> None:
    """Entries that can hold no test or whose test's file is gone, and tests ready to leave
    quarantine."""
    _warn_of_entries(context, register, history.tests, project, today)
    passes = {t: e.held for t, e in history.tests.items()}
    ready = quarantine.ready_to_release(register, passes, release_after, today)
    for entry in ready:
        context.console.annotate(
            _on_entry(
                register,
                entry,
                AnnotationLevel.NOTICE,
                f"{entry.test} passed {passes[entry.test]} merged runs in a row while "
                "quarantined: ready to release from quarantine",
            )
        )
    if ready:
        summary.heading("Ready to release from quarantine", 3).bullets(
            f"{code_span(e.test)} ({passes[e.test]} passing runs in a row while quarantined; "
            f"owner {inline(e.owner)})"
            for e in ready
        )


def _warn_of_entries(
    context: ActionContext,
    register: quarantine.Register,
    tests: Collection[str],
    project: Path,
    today: dt.date,
    within: str = "",
) -> None:
    """Warnings on the register's entries that can hold no test, or whose test's file is gone
    (``within``: see ``quarantine.holding_nothing``)."""
    for entry, why in quarantine.holding_nothing(register, tests, today, within):
        context.console.annotate(
            _on_entry(
                register,
                entry,
                AnnotationLevel.WARNING,
                f"{entry.test} {why}: an entry holds one whole node id, so this one holds "
                "none; list the tests it should hold",
            )
        )
    workspace = context.inputs.workspace
    for entry, file in quarantine.naming_missing_files(register, tests, project, today):
        shown = workspace_relative(file, workspace, project)
        if (workspace / file).is_file() and project.resolve() != workspace.resolve():
            # written from the workspace root: pytest's ids start at the project directory
            where = workspace_relative(project, workspace)
            why = (
                f"ids are relative to the project directory {where}/, as pytest prints them: "
                f"write {entry.test.removeprefix(where + '/')}"
            )
        else:
            why = (
                "the test was deleted or moved, so remove this entry or update it to the "
                "test's new id"
            )
        context.console.annotate(
            _on_entry(
                register,
                entry,
                AnnotationLevel.WARNING,
                f"{entry.test} names {shown}, which does not exist: {why}",
            )
        )


def _on_entry(
    register: quarantine.Register, entry: quarantine.Entry, level: AnnotationLevel, text: str
) -> Annotation:
    """An annotation on a register entry's line."""
    return Annotation(
        level, text, file=register.path, line=entry.line, title="test-matrix quarantine"
    )


@dataclass(frozen=True)
class CoverageTotal:
    percent: float
    threshold: float | None
    source: str  # where the threshold comes from
    # the decimals the total is judged on: coverage-threshold's two, or the project's precision
    precision: int = 2

    @property
    def shown(self) -> str:
        """Two decimals, as coverage.py shows them: never 100 nor 0 unless exactly so."""
        shown = f"{self.percent:.2f}"
        if shown == "100.00" and self.percent < 100:
            return "99.99"
        if shown == "0.00" and self.percent > 0:
            return "0.01"
        return shown

    @property
    def below(self) -> bool:
        if self.threshold is None:
            return False
        if self.threshold >= 100:  # as coverage.py's fail_under: 100 means every line
            return self.percent < 100
        # as coverage.py judges fail_under: on the total rounded to the report's precision
        return round(self.percent, self.precision) < self.threshold

    @property
    def gate(self) -> str:
        return f"the threshold {self.threshold:g}% ({self.source})" if self.threshold else ""

    @property
    def said(self) -> str:
        """The summary's line: the total, and how it stands against its threshold."""
        if self.below:
            return f"❌ Coverage **{self.shown}%**, below {self.gate}."
        if self.gate:
            return f"Coverage **{self.shown}%**, not below {self.gate}."
        return f"Coverage **{self.shown}%**."


def _combine_coverage(
    context: ActionContext,
    common: Common,
    manifests: Sequence[Manifest],
    results_dir: Path,
    threshold: float | None,
) -> CoverageTotal | None:
    """The shards' coverage combined, judged on the threshold input, else on the project's
    fail_under; a total over only some shards would not be the project's coverage."""
    labels = {m.label for m in manifests}
    measured = {m.label for m in manifests if m.coverage}
    if not measured:
        if threshold is not None:
            raise ToolFailedError(
                "coverage-threshold is set but no shard measured coverage (coverage: true on run)"
            )
        return None
    # every test runs in every cell: one cell measured whole is the project's coverage, a
    # cell measured in part is not
    partly = sorted(m.stem for m in manifests if m.label in measured and not m.coverage)
    if partly:
        raise ToolFailedError(
            f"coverage data from only some shards of a matrix cell ({', '.join(partly)} ran "
            "without coverage: true): a total over the others is not the project's coverage"
        )
    if measured != labels:
        context.console.info(
            f"coverage measured in {', '.join(sorted(measured))}, not in "
            f"{', '.join(sorted(labels - measured))}"
        )
    with context.console.group("Combining coverage"):
        try:
            combined = coverage_merge.combine(
                common.project,
                [m.project for m in manifests if m.coverage],
                [results_dir / c for m in manifests for c in m.coverage],
                results_dir / ".coverage",
                context.inputs.workspace,
            )
        except ToolFailedError as error:
            raise ToolFailedError(f"{error}{_why_unparsed(str(error), manifests)}") from None
    if threshold is not None:
        return CoverageTotal(combined.percent, threshold, "coverage-threshold")
    if combined.fail_under:
        return CoverageTotal(
            combined.percent,
            combined.fail_under,
            f"the project's fail_under, to its precision of {combined.precision} decimal(s)",
            combined.precision,
        )
    return CoverageTotal(combined.percent, None, "")


def _why_unparsed(message: str, manifests: Sequence[Manifest]) -> str:
    """Why merge's coverage.py could not parse a source the shards measured: this checkout
    lacks it (a test or the shard job wrote it), or merge's Python is older than theirs (the
    runner's python3 where the shards had setup-python's newest)."""
    unparsed = _UNPARSED.search(message)
    if unparsed is None:
        return ""
    if not Path(unparsed["path"]).is_file():
        return (
            " (this checkout has no such file, as when a test or the shard job wrote it: leave "
            "it out of the measurement with [run] omit)"
        )
    ran = [runner.release_line(m.python) for m in manifests if m.coverage]
    newest = max((line for line in ran if line), default=None)
    if newest is None or newest <= sys.version_info[:2]:
        return ""
    shown = ".".join(map(str, newest))
    return (
        f" (merge reads the sources with Python {sys.version_info[0]}.{sys.version_info[1]}, "
        f"older than the {shown} a shard measured: run merge on Python {shown}, e.g. with "
        "actions/setup-python before it)"
    )


_UNPARSED = re.compile(r"Couldn't parse (?:Python file )?'(?P<path>[^']+)'")


def _expected(inputs: Inputs) -> Expected | None:
    """The plan's matrix output, when given: how many cells and shards must report."""
    text = inputs.raw("matrix")
    if not text:
        return None
    try:
        matrix = json.loads(text)
        axes = [matrix[axis] for axis in ("python", "os", "shard")]
        valid = all(isinstance(axis, list) and axis for axis in axes)
        valid = valid and matrix["shard"] == list(range(1, len(matrix["shard"]) + 1))
    except (json.JSONDecodeError, TypeError, KeyError):
        valid = False
    if not valid:
        raise InputError("matrix", text, "the plan's matrix output (JSON with python, os, shard)")
    return Expected(len(matrix["python"]) * len(matrix["os"]), len(matrix["shard"]))


def _threshold(inputs: Inputs) -> float | None:
    text = inputs.raw("coverage-threshold")
    if not text:
        return None
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise InputError("coverage-threshold", text, "a percentage from 0 to 100")
    return value


# --- reporting shared by run and merge -----------------------------------------------------------


def _verdict(common: Common, results: Sequence[TestResult], today: dt.date) -> Verdict:
    register = common.register
    active = register.active(today) if register else {}
    expired = register.expired(today) if register else []
    return judge(results, active, expired, flaky_fails=common.flaky is FlakyPolicy.FAIL)


def _tally(results: Sequence[TestResult], verdict: Verdict, shown_count: str) -> str:
    tally = counts(results)
    # pytest's last line counts errors apart from failures: say how many of them there are
    errors = sum(1 for r in verdict.failed if r.outcome is Outcome.ERROR)
    xpassed = sum(1 for r in results if r.xfail and r.outcome is Outcome.PASSED)
    xfailed = sum(1 for r in results if r.xfail and r.outcome is Outcome.SKIPPED)
    return (
        f"{shown_count} tests: {tally[Outcome.PASSED]} passed{_of_which('xpassed', xpassed)}, "
        f"{len(verdict.failed)} failed{_of_which('errors', errors)}, "
        f"{len(verdict.flaky)} flaky, {tally[Outcome.SKIPPED]} skipped"
        f"{_of_which('xfailed', xfailed)}, {len(verdict.quarantined)} quarantined."
    )


def _of_which(kind: str, count: int) -> str:
    """How many of a count pytest's last line counts apart (as errors, xfailed, xpassed)."""
    return f" ({kind}: {count})" if count else ""


def _cells_not_passed(manifests: Sequence[Manifest]) -> dict[str, list[tuple[str, Outcome]]]:
    """The matrix cells (labels) in which each test failed or was flaky, with its outcome."""
    cells: dict[str, list[tuple[str, Outcome]]] = {}
    for m in manifests:
        for r in m.results:
            if r.outcome.failing or r.outcome is Outcome.FLAKY:
                cells.setdefault(r.nodeid, []).append((m.label, r.outcome))
    return cells


def _labels(
    cells: Mapping[str, list[tuple[str, Outcome]]], nodeid: str, wanted: Callable[[Outcome], bool]
) -> str:
    return ", ".join(label for label, outcome in cells.get(nodeid, []) if wanted(outcome))


def _where(result: TestResult, common: Common, workspace: Path) -> str:
    if not result.file:
        return ""
    place = workspace_relative(result.file, workspace, common.project)
    return f"{place}:{result.line}" if result.line else str(place)


def _test_time(seconds: float) -> str:
    """0.40 s; a test under 10 ms in milliseconds (the times are exact to the microsecond),
    which would read 0.00 s."""
    return f"{seconds:.2f} s" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _annotate(context: ActionContext, common: Common, verdict: Verdict) -> None:
    console = context.console
    workspace = context.inputs.workspace

    flaky_level = AnnotationLevel.ERROR if verdict.blocking_flaky else AnnotationLevel.WARNING
    kinds: list[tuple[list[TestResult], AnnotationLevel, str, str]] = [
        (verdict.failed, AnnotationLevel.ERROR, "failure", "{outcome}: {message}"),
        (
            verdict.flaky,
            flaky_level,
            "flaky",
            "is flaky: {message}",
        ),
        (
            verdict.quarantined,
            AnnotationLevel.NOTICE,
            "quarantined",
            "{outcome} but is quarantined: {message}",
        ),
    ]
    # GitHub shows 10 annotations of a level (error, warning, notice) per step and drops the
    # rest: the blocking expired entries first, then the tests, each kind as far as it fits
    shown: Counter[AnnotationLevel] = Counter()
    if common.register is not None:
        for entry in verdict.expired:
            shown[AnnotationLevel.ERROR] += 1
            console.annotate(
                _on_entry(
                    common.register,
                    entry,
                    AnnotationLevel.ERROR,
                    f"quarantine of {entry.test} expired on {entry.expires.isoformat()} "
                    f"(owner {entry.owner}, {entry.issue}): fix the test or extend the entry",
                )
            )
    for results, level, kind, text in kinds:
        room = max(0, ANNOTATIONS_PER_LEVEL - shown[level])
        if len(results) > room:
            console.info(
                f"{len(results) - room} more {kind} annotation(s) left out (GitHub shows "
                f"{ANNOTATIONS_PER_LEVEL} of a level per step): see the job summary and the "
                "JUnit report"
            )
        for result in results[:room]:
            shown[level] += 1
            message = text.format(
                outcome=result.outcome.value,
                message=_told(result, brief(result.message, ANNOTATION_CHARS)),
            )
            console.annotate(
                Annotation(
                    level,
                    f"{result.nodeid} {message}",
                    file=workspace_relative(result.file, workspace, common.project)
                    if result.file
                    else None,
                    line=result.line if result.file else None,
                    title=f"test-matrix {kind}",
                )
            )


def _told(result: TestResult, message: str) -> str:
    """A test's message with how it came to fail or be flaky, when that took more than one try
    (a failing one's outcome is said before it: "failed: in run attempt 1 ...")."""
    run = result.run_attempts
    if run is not None:  # its shard's job ran again: a new run attempt
        if run.was is Outcome.FLAKY:
            earlier = f"flaky in run attempt {run.earlier} (passed on rerun {result.attempts - 1})"
        else:
            verb = "errored" if run.was is Outcome.ERROR else "failed"
            tries = f"{result.attempts} {'try' if result.attempts == 1 else 'tries'}"
            earlier = f"{verb} in run attempt {run.earlier} ({tries} there)"
        if result.outcome.failing:
            earlier = earlier.split(" ", 1)[1]  # the outcome is said before it
        did = {Outcome.SKIPPED: "was skipped", Outcome.FLAKY: "passed on a rerun"}
        return f"{earlier}, then {did.get(run.now, 'passed')} in run attempt {run.newer}: {message}"
    if result.outcome is Outcome.FLAKY:
        return f"failed, then passed on rerun {result.attempts - 1}: {message}"
    return message


def _passed_on(result: TestResult) -> object:
    """Where a flaky test passed, for the flaky table."""
    run = result.run_attempts
    if run is None:
        return result.attempts
    if run.now is Outcome.SKIPPED:  # flaky in the earlier attempt, skipped in the newer
        return f"rerun {result.attempts - 1} of run attempt {run.earlier}"
    return f"run attempt {run.newer}"


def _by_id(results: Sequence[TestResult]) -> list[TestResult]:
    return sorted(results, key=lambda r: r.nodeid)


def _more(summary: Summary, total: int, what: str) -> None:
    if total > SUMMARY_ROWS:
        summary.paragraph(f"… and {total - SUMMARY_ROWS} more {what}: all are in the JUnit report.")


def _set_result_outputs(
    context: ActionContext, results: Sequence[TestResult], verdict: Verdict, passed: bool
) -> None:
    tally = counts(results)
    files = context.files
    files.set_output("tests", len(results))
    files.set_output("passed", tally[Outcome.PASSED])
    files.set_output("failed", len(verdict.failed))
    files.set_output("skipped", tally[Outcome.SKIPPED])
    files.set_output("flaky", len(verdict.flaky))
    files.set_output("quarantined", len(verdict.quarantined))
    files.set_output("outcome", "pass" if passed else "fail")


def _results_summary(
    title: str,
    results: Sequence[TestResult],
    verdict: Verdict,
    common: Common,
    today: dt.date,
    *,
    passed: bool | None = None,
    cells: Mapping[str, list[tuple[str, Outcome]]] | None = None,
    coverage: CoverageTotal | None = None,
) -> Summary:
    ok = verdict.passed if passed is None else passed
    workspace = common.workspace
    summary = Summary().heading(f"{title}: {'✅ passed' if ok else '❌ failed'}")
    summary.paragraph(_tally(results, verdict, f"**{len(results)}**"))
    if coverage is not None:  # next to the counts: it may be why the headline failed
        summary.paragraph(coverage.said)
    # each table in node id order, so that a module's tests sit together whatever shard ran them
    failed, flaky = _by_id(verdict.failed), _by_id(verdict.flaky)
    if failed:
        headers = ["Test", "Outcome", "Attempts", "Where", "Message"]
        rows: list[list[object]] = [
            [
                Code(r.nodeid),
                r.outcome.value,
                r.attempts,
                _where(r, common, workspace),
                brief(_told(r, r.message), SUMMARY_CHARS),
            ]
            for r in failed[:SUMMARY_ROWS]
        ]
        if cells is not None:
            headers.insert(1, "Failed in")
            for row, r in zip(rows, failed, strict=False):
                row.insert(1, _labels(cells, r.nodeid, lambda o: o.failing))
        summary.heading("Failures", 3).table(headers, rows)
        _more(summary, len(verdict.failed), "failures")
    if flaky:
        policy = "blocking" if verdict.blocking_flaky else "not blocking"
        flaky_headers = ["Test", "Passed on attempt", "First failure"]
        flaky_rows: list[list[object]] = [
            [
                Code(r.nodeid),
                _passed_on(r),
                brief(r.message, SUMMARY_CHARS),
            ]
            for r in flaky[:SUMMARY_ROWS]
        ]
        if cells is not None:
            flaky_headers.insert(1, "Flaky in")
            for row, r in zip(flaky_rows, flaky, strict=False):
                row.insert(1, _labels(cells, r.nodeid, lambda o: o is Outcome.FLAKY))
        summary.heading(f"Flaky ({policy})", 3).table(flaky_headers, flaky_rows)
        _more(summary, len(verdict.flaky), "flaky tests")
    if verdict.quarantined:
        register = common.register
        entries = register.active(today) if register else {}
        held = [r for r in _by_id(verdict.quarantined)[:SUMMARY_ROWS] if r.nodeid in entries]
        # its failure now beside why it was quarantined: a new way to fail shows
        held_headers = ["Test", "Outcome", "Message", "Quarantined because"]
        held_headers += ["Owner", "Issue", "Expires"]
        held_rows: list[list[object]] = [
            [
                Code(r.nodeid),
                r.outcome.value,
                brief(_told(r, r.message), SUMMARY_CHARS),
                brief(entries[r.nodeid].reason, SUMMARY_CHARS),
                entries[r.nodeid].owner,
                entries[r.nodeid].issue,
                entries[r.nodeid].expires.isoformat(),
            ]
            for r in held
        ]
        if cells is not None:
            held_headers.insert(1, "Failed or flaky in")
            for row, r in zip(held_rows, held, strict=True):
                row.insert(1, _labels(cells, r.nodeid, lambda o: True))
        summary.heading("Quarantined (not blocking)", 3).table(held_headers, held_rows)
        _more(summary, len(verdict.quarantined), "quarantined tests")
    if verdict.expired:
        summary.heading("Expired quarantine entries (blocking)", 3).bullets(
            f"{code_span(e.test)} expired {e.expires.isoformat()} — "
            f"{inline(e.owner)}, {inline(e.issue)}"
            for e in verdict.expired
        )
    return summary
