"""test-matrix end to end through the CLI, as a runner calls it, on small real pytest projects.

The projects' tests run with a real pytest in a separate interpreter (this environment's,
which has pytest and coverage; the example service's venv for an environment without
coverage), exactly as a user's project would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import sqlite3
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import coverage
import pytest

from shipline.testmatrix import durations, sharding
from tests.support.action_runner import run_action
from tests.support.markdown import github_html

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PYTHON = REPO_ROOT / "examples/fastapi-service/.venv/bin/python"

PYPROJECT = """\
[project]
name = "demo"
version = "0"
requires-python = ">=3.12"
classifiers = ["Programming Language :: Python :: 3.12", "Programming Language :: Python :: 3.13"]

[tool.pytest.ini_options]
testpaths = ["tests"]
markers = ["unit: fast", "integration: slow"]

[tool.coverage.run]
source = ["app"]
"""
APP = """\
def add(a: int, b: int) -> int:
    return a + b


def called_by_one_shard() -> int:
    x = 1
    y = 2
    return x + y


def unused() -> int:
    return 0
"""
FAST = """\
import pytest

from app.calc import add

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("n", range(6))
def test_add(n: int) -> None:
    assert add(n, 1) == n + 1
"""
SLOW = """\
import time

import pytest

pytestmark = pytest.mark.integration


def test_slow_one() -> None:
    time.sleep(0.4)


def test_slow_two() -> None:
    from app.calc import called_by_one_shard

    time.sleep(0.4)
    assert called_by_one_shard() == 3
"""
FAILING = """\
import pytest

pytestmark = pytest.mark.unit


def test_broken() -> None:
    expected = 3
    assert 1 + 1 == expected
"""
FLAKY = """\
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit


def test_flaky() -> None:
    marker = Path(os.environ["FLAKY_DIR"]) / "ran-once"
    if not marker.exists():
        marker.write_text("1")
        raise AssertionError("first attempt fails")
"""


@dataclass
class Run:
    code: int
    annotations: list[tuple[str, dict[str, str], str]]
    outputs: dict[str, str]
    summary: str
    log: str


def make_project(workspace: Path, *, failing: bool = False, flaky: bool = False) -> Path:
    project = workspace / "proj"
    (project / "tests").mkdir(parents=True)
    (project / "app").mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "calc.py").write_text(APP)
    (project / "app" / "orphan.py").write_text("ORPHAN = 1\nNEVER = 2\n")  # never imported
    (project / "tests" / "test_fast.py").write_text(FAST)
    (project / "tests" / "test_slow.py").write_text(SLOW)
    if failing:
        (project / "tests" / "test_failing.py").write_text(FAILING)
    if flaky:
        (project / "tests" / "test_flaky.py").write_text(FLAKY)
    return project


def shipline(
    workspace: Path,
    mode: str,
    python: Path | str = sys.executable,
    env: dict[str, str] | None = None,
    **inputs: str,
) -> Run:
    run = run_action(
        "test-matrix",
        workspace,
        {"mode": mode, "path": "proj", "python": str(python), **inputs},
        env={"FLAKY_DIR": str(workspace), **(env or {})},
    )
    return Run(run.code, run.annotations, run.outputs, run.summary, run.log)


def run_in_attempt(
    workspace: Path, attempt: int, env: dict[str, str] | None = None, **inputs: str
) -> Run:
    """A shard run in GitHub's run attempt ``attempt``, into results/<attempt>/ (each attempt's
    artifact downloads into a directory of its own)."""
    return shipline(
        workspace,
        "run",
        env={"GITHUB_RUN_ATTEMPT": str(attempt), **(env or {})},
        results=f"results/{attempt}",
        **inputs,
    )


def write_durations(workspace: Path, seconds: dict[str, float]) -> None:
    """A durations file as one merged run of these tests would have left it."""
    tests = {test: {"seconds": value, "samples": 1} for test, value in seconds.items()}
    (workspace / "test-durations.json").write_text(json.dumps({"version": 1, "tests": tests}))


def write_fast_and_slow_durations(workspace: Path) -> dict[str, float]:
    """The project's 8 tests as measured: 6 quick ones in test_fast.py, 2 of 0.4 s in test_slow.py."""
    seconds = dict.fromkeys((f"tests/test_fast.py::test_add[{n}]" for n in range(6)), 0.005)
    seconds |= {"tests/test_slow.py::test_slow_one": 0.4, "tests/test_slow.py::test_slow_two": 0.4}
    write_durations(workspace, seconds)
    return seconds


def manifest(workspace: Path, stem: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (workspace / "test-results" / f"{stem}.json").read_text()
    )
    return loaded


def test_plan_run_merge_then_replan_on_measured_durations(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    plan = shipline(workspace, "plan", shards="2")
    assert plan.code == 0, plan.log
    assert json.loads(plan.outputs["matrix"]) == {
        "python": ["3.12", "3.13"],
        "os": ["ubuntu-latest"],
        "shard": [1, 2],
    }
    assert plan.outputs["shards"] == "2"
    assert "**8** tests, no stored durations yet: split by count." in plan.summary
    assert "Estimated" not in plan.summary  # no time estimate from nothing measured
    sized = shipline(workspace, "plan", target="4s")  # no count given: sized by the target
    assert sized.outputs["shards"] == "2", sized.log
    assert (
        "**8** tests, no stored durations yet: split by count; 2 shard(s) for target 4s as if "
        "each test took 1 s, until a merge has measured them."
    ) in sized.summary
    capped = shipline(workspace, "plan", target="2s", max_shards="3")
    assert capped.outputs["shards"] == "3", capped.log
    assert (
        "split by count; 3 shard(s) for target 2s as if each test took 1 s (4 at that rate, "
        "capped by max-shards), until a merge has measured them."
    ) in capped.summary

    for shard in ("1", "2"):
        run = shipline(workspace, "run", shards="2", shard=shard)
        assert run.code == 0, run.log
        assert run.outputs["tests"] == "4" and run.outputs["outcome"] == "pass"
        assert "(no stored durations yet: split by count)" in run.summary
        assert manifest(workspace, f"shard-{shard}of2")["plan"] == "none"  # no file to plan with
    merged = shipline(workspace, "merge")
    assert merged.code == 0, merged.log
    assert merged.outputs["tests"] == "8" and merged.outputs["passed"] == "8"
    history = json.loads((workspace / "test-durations.json").read_text())
    assert history["version"] == 1
    assert history["tests"]["tests/test_slow.py::test_slow_one"]["seconds"] >= 0.35
    assert history["tests"]["tests/test_fast.py::test_add[0]"]["seconds"] < 0.35
    assert "| shard-1of2 | 3." in merged.summary and "Slowest 8 tests" in merged.summary
    # a test of a millisecond reads as one, not as 0.00 s
    assert re.search(r"\| `tests/test_fast.py::test_add\[0\]` \| \d+\.\d ms \|", merged.summary)
    shards_table = merged.summary.index("| Shard | Python |")
    assert merged.summary.rindex("### ", 0, shards_table) == merged.summary.index("### Shards")
    junit = (workspace / "test-results" / "junit.xml").read_text()
    assert 'name="shard-1of2"' in junit and 'name="shard-2of2"' in junit

    # With measured durations the two slow tests go to different shards.
    replanned = shipline(workspace, "plan", shards="2")
    assert "**0** without a stored duration" in replanned.summary
    # the tests' own time: collection and start-up come on top, as in each shard's summary
    assert re.search(r"Estimated longest shard \*\*\d+\.\d s\*\* of test time, ", replanned.summary)
    for shard in ("1", "2"):
        rerun = shipline(workspace, "run", shards="2", shard=shard)
        assert rerun.code == 0, rerun.log
        assert "s for its tests)" in rerun.summary
    assigned = [set(manifest(workspace, f"shard-{i}of2")["tests"]) for i in (1, 2)]  # type: ignore[arg-type]
    slow = {"tests/test_slow.py::test_slow_one", "tests/test_slow.py::test_slow_two"}
    assert all(len(slow & tests) == 1 for tests in assigned)


def test_a_merge_run_again_does_not_count_the_reports_it_counted_before(tmp_path: Path) -> None:
    """GitHub's "Re-run failed jobs": shard 2 and merge run again, shard 1's report is kept."""
    workspace = tmp_path / "ws"
    make_project(workspace)
    for shard in ("1", "2"):
        assert shipline(workspace, "run", shards="2", shard=shard).code == 0
    assert shipline(workspace, "merge").code == 0
    durations_file = workspace / "test-durations.json"
    first = json.loads(durations_file.read_text())
    assert len(first["reports"]) == 2
    samples = {test: entry["samples"] for test, entry in first["tests"].items()}
    assert set(samples.values()) == {1}

    again = shipline(workspace, "merge")
    assert again.code == 0, again.log
    assert json.loads(durations_file.read_text()) == first
    assert "2 of the 2 shard reports were counted by an earlier merge" in again.summary

    # the re-run shard plans on what the plan job handed out: no durations yet
    durations_file.rename(tmp_path / "merged.json")
    assert shipline(workspace, "run", shards="2", shard="2").code == 0
    (tmp_path / "merged.json").rename(durations_file)
    rerun = shipline(workspace, "merge")
    assert "1 of the 2 shard reports were counted by an earlier merge" in rerun.summary
    shard_2 = set(manifest(workspace, "shard-2of2")["tests"])  # type: ignore[arg-type]
    after = json.loads(durations_file.read_text())["tests"]
    assert shard_2 and set(after) == set(samples)
    assert {t: e["samples"] for t, e in after.items()} == {
        t: 2 if t in shard_2 else 1 for t in samples
    }


COUNT_COLLECTIONS = """\
import os
from pathlib import Path


def pytest_collection_finish(session):
    with (Path(os.environ["FLAKY_DIR"]) / "collections").open("a") as log:
        log.write(f"{len(session.items)}\\n")
"""


def test_each_shard_collects_once_and_runs_the_share_the_plan_computes(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "conftest.py").write_text(COUNT_COLLECTIONS)
    ids = [f"tests/test_fast.py::test_add[{n}]" for n in range(6)]
    ids += ["tests/test_slow.py::test_slow_one", "tests/test_slow.py::test_slow_two"]
    seconds = {test: 0.1 * (position + 1) for position, test in enumerate(ids)}
    write_durations(workspace, seconds)
    for shard in ("1", "2", "3"):
        run = shipline(workspace, "run", shards="3", shard=shard)
        assert run.code == 0, run.log
    # one pytest process per shard: it collected all 8 and kept the shard's share
    kept = (workspace / "collections").read_text().split()
    assert len(kept) == 3 and sum(map(int, kept)) == 8
    expected = sharding.plan(ids, seconds, 3)
    for shard in expected.shards:
        ran = manifest(workspace, f"shard-{shard.index}of3")
        assert ran["tests"] == list(shard.tests)
        results = ran["results"]
        assert isinstance(results, list)
        assert sorted(r["nodeid"] for r in results) == sorted(shard.tests)


def test_keep_together_keeps_a_module_s_tests_in_one_shard(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    seconds = write_fast_and_slow_durations(workspace)

    def shares(keep_together: str) -> list[set[str]]:
        for shard in ("1", "2"):
            run = shipline(workspace, "run", shards="2", shard=shard, keep_together=keep_together)
            assert run.code == 0, run.log
        return [set(manifest(workspace, f"shard-{i}of2")["tests"]) for i in (1, 2)]  # type: ignore[arg-type]

    fast = {test for test in seconds if "test_fast" in test}
    # single tests, longest first onto the least loaded shard: the fast module is spread
    assert all(fast & tests for tests in shares("none"))
    # kept together it lands whole in one shard; the slow module (too heavy) is still split
    kept = shares("class")
    assert sum(1 for tests in kept if fast & tests) == 1
    assert any(fast <= tests for tests in kept)
    assert set().union(*kept) == set(seconds)


LOGGED_MODULE = """\
import os
from pathlib import Path

with (Path(os.environ["FLAKY_DIR"]) / "imported").open("a") as log:
    log.write(__name__ + "\\n")


def test_one() -> None:
    pass


def test_two() -> None:
    pass
"""


def test_with_keep_together_module_a_shard_imports_only_the_modules_it_runs(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    for name in ("alpha", "beta", "gamma", "delta", "new"):
        (project / "tests" / f"test_{name}.py").write_text(LOGGED_MODULE)
    # the history knows four small modules (and one deleted since) and the slow module, whose
    # two tests weigh so much that it is split; test_new.py and test_fast.py are new to it
    names = ("alpha", "beta", "gamma", "delta", "gone")
    seconds = {f"tests/test_{m}.py::test_{t}": 0.01 for m in names for t in ("one", "two")}
    seconds |= {"tests/test_slow.py::test_slow_one": 0.4, "tests/test_slow.py::test_slow_two": 0.4}
    write_durations(workspace, seconds)
    plan = shipline(workspace, "plan", shards="2", keep_together="module")
    assert plan.code == 0, plan.log
    assert "each shard collects only its own" in plan.summary
    collected: list[str] = []
    for shard in ("1", "2"):
        (workspace / "imported").unlink(missing_ok=True)
        run = shipline(workspace, "run", shards="2", shard=shard, keep_together="module")
        assert run.code == 0, run.log
        # the history's modules still in the checkout: test_slow.py and four small ones
        assert "of the 5 modules in the durations file" in run.log
        assert "(only these were collected)" in run.log
        ran = manifest(workspace, f"shard-{shard}of2")["tests"]
        assert isinstance(ran, list)
        imported = (workspace / "imported").read_text().split()
        # every logged module this shard imported is one whose tests it ran, and no other
        ran_logged = {
            t.split("::")[0] for t in ran if "test_fast" not in t and "test_slow" not in t
        }
        assert {f"tests/{name.rsplit('.', 1)[-1]}.py" for name in imported} == ran_logged
        assert f"| {shard} | {len(ran)} |" in plan.summary  # the plan showed this share
        collected += ran
    # together the shards ran the whole collection once, the new module included
    assert sorted(collected) == sorted(set(collected))
    assert len(collected) == 18 and "tests/test_new.py::test_one" in collected


def test_with_keep_together_module_tests_outside_the_rootdir_are_refused_too(
    tmp_path: Path,
) -> None:
    # pytest names a file outside its rootdir otherwise in node ids than by its path (a rerun
    # would not find it): every shard collects such a module, and refuses it before any test
    workspace = tmp_path / "ws"
    make_project(workspace)
    (workspace / "shared").mkdir()
    for name in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"):
        (workspace / "shared" / f"test_{name}.py").write_text(LOGGED_MODULE)
    write_fast_and_slow_durations(workspace)
    for shard in ("1", "2"):
        run = shipline(
            workspace,
            "run",
            shards="2",
            shard=shard,
            keep_together="module",
            args="tests ../shared",
        )
        assert run.code == 2, run.log
        assert f"pytest collected tests outside {workspace / 'proj'} (the rootdir: " in run.log
    assert not (workspace / "test-results").exists()


def test_paths_outside_the_project_are_refused(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    (workspace / "shared").mkdir()
    run = shipline(workspace, "run", shards="1", shard="1", paths="tests,../shared")
    assert run.code == 2
    assert "input 'paths' got '../shared': expected existing paths inside the project" in run.log


def test_a_requires_python_plan_cannot_read_says_which_input_gets_around_it(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('">=3.12"', '"===3.12"'))
    run = shipline(workspace, "plan", shards="1")
    assert run.code == 2
    assert (
        f"cannot read the Python versions from {pyproject}: cannot read the version clause "
        "'===3.12' (or set the python-versions input)"
    ) in run.log
    assert shipline(workspace, "plan", shards="1", **{"python-versions": "3.12"}).code == 0


def test_with_keep_together_module_plan_avoids_a_shard_whose_modules_lost_their_tests(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    # the integration layer's history: its two slow tests (each too heavy to stay together)
    # go to two shards; the unit layer has no test in the second shard's modules
    write_fast_and_slow_durations(workspace)
    layer = {"markers": "unit", "keep_together": "module"}
    plan = shipline(workspace, "plan", shards="2", **layer)
    assert plan.code == 0, plan.log
    assert plan.outputs["shards"] == "1"
    assert "asked for 2; capped so that none is without modules" in plan.summary
    runs = [shipline(workspace, "run", shards="2", shard=shard, **layer) for shard in ("1", "2")]
    empty = [run for run in runs if run.code != 0]
    assert len(empty) == 1 and empty[0].code == 1
    assert "its modules, placed from the durations file, gave 0 test(s)" in empty[0].log


def test_with_keep_together_module_only_modules_under_paths_are_placed(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "group").mkdir()
    names = ("alpha", "beta", "gamma", "delta")
    for name in names:
        (project / "tests" / "group" / f"test_{name}.py").write_text(LOGGED_MODULE)
    # the last run also ran test_slow.py, heavy enough for a shard of its own: planned on all
    # of it, the second shard would own no module under tests/group
    seconds = {f"tests/group/test_{m}.py::test_{t}": 0.01 for m in names for t in ("one", "two")}
    seconds |= {"tests/test_slow.py::test_slow_one": 1.0}
    write_durations(workspace, seconds)
    layer = {"paths": "tests/group", "keep_together": "module"}
    plan = shipline(workspace, "plan", shards="2", **layer)
    assert plan.code == 0, plan.log
    assert plan.outputs["shards"] == "2"
    ran: list[str] = []
    for shard in ("1", "2"):
        run = shipline(workspace, "run", shards="2", shard=shard, **layer)
        assert run.code == 0, run.log
        tests = manifest(workspace, f"shard-{shard}of2")["tests"]
        assert isinstance(tests, list) and len(tests) == 4
        ran += tests
    assert sorted(ran) == sorted(seconds)[:8]


@pytest.mark.parametrize("keep_together", ["none", "module"])
def test_shards_split_the_suite_under_pytest_xdist_too(tmp_path: Path, keep_together: str) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    for name in ("alpha", "beta", "gamma"):
        (project / "tests" / f"test_{name}.py").write_text(LOGGED_MODULE)
    # module: the workers place the modules from the history and collect only their shard's
    known = ["tests/test_slow.py::test_slow_one", "tests/test_slow.py::test_slow_two"]
    known += [f"tests/test_{m}.py::test_one" for m in ("alpha", "beta", "gamma")]
    write_durations(workspace, dict.fromkeys(known, 0.1))
    ran: list[str] = []
    for shard in ("1", "2", "3"):
        run = shipline(
            workspace, "run", shards="3", shard=shard, args="-n 2", keep_together=keep_together
        )
        assert run.code == 0, run.log
        assert "2 workers" in run.log  # every xdist worker collects and keeps the same share
        assert ("(only these were collected)" in run.log) == (keep_together == "module")
        results = manifest(workspace, f"shard-{shard}of3")["results"]
        assert isinstance(results, list)
        ran += [r["nodeid"] for r in results]
    assert len(ran) == 14 and len(set(ran)) == 14


def test_the_shard_plugin_adds_no_module_name_a_project_might_import(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    # the plugin's directory is on the tests' PYTHONPATH, ahead of site-packages
    (project / "tests" / "test_names.py").write_text(
        "import importlib.util\n\n\n"
        "def test_no_foreign_names() -> None:\n"
        "    for name in ('sharding', 'shard_plugin', 'request', 'answer'):\n"
        "        assert importlib.util.find_spec(name) is None, name\n"
    )
    # no reruns: a rerun runs without the plugin and would pass
    run = shipline(workspace, "run", shards="1", shard="1", reruns="0")
    assert run.code == 0, run.log


def test_a_shard_beyond_the_collected_tests_fails_saying_so(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    run = shipline(workspace, "run", shards="9", shard="9")
    assert run.code == 1
    assert "shard 9 of 9 has no tests: only 8 were collected" in run.log
    # the shards that do get tests say which ones will not, in this run's words
    first = shipline(workspace, "run", shards="10", shard="1")
    assert first.code == 0, first.log
    assert "fill only 8 of the 10 shards, so shards 9-10 get none" in first.log
    one = shipline(workspace, "run", shards="9", shard="8")
    assert one.code == 0, one.log
    assert "fill only 8 of the 9 shards, so shard 9 gets none" in one.log
    assert "fill only" not in shipline(workspace, "run", shards="8", shard="8").log


def test_layers_are_chosen_by_marker_or_path(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    by_marker = shipline(workspace, "run", shards="1", shard="1", markers="integration")
    assert by_marker.code == 0, by_marker.log
    assert by_marker.outputs["tests"] == "2"
    by_path = shipline(workspace, "run", shards="1", shard="1", paths="tests/test_fast.py")
    assert by_path.outputs["tests"] == "6"
    # one shard of a layer never measured: there was no split to make by count
    assert "(one shard: no split)" in by_path.summary and "split by count" not in by_path.log


def test_failures_are_annotated_on_their_line_and_flaky_tests_pass_on_rerun(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, failing=True, flaky=True)
    run = shipline(workspace, "run", shards="1", shard="1", reruns="2")
    assert run.code == 1, run.log
    assert run.outputs["failed"] == "1" and run.outputs["flaky"] == "1"
    errors = [
        (p.get("file"), p.get("line"), m) for name, p, m in run.annotations if name == "error"
    ]
    assert (
        "proj/tests/test_failing.py",
        "8",
        "tests/test_failing.py::test_broken failed: assert (1 + 1) == 3",
    ) in errors
    warnings = [
        (p.get("file"), p.get("line"), m) for name, p, m in run.annotations if name == "warning"
    ]
    assert warnings[0][:2] == ("proj/tests/test_flaky.py", "13")
    assert "is flaky: failed, then passed on rerun 1" in warnings[0][2]
    assert "### Flaky (not blocking)" in run.summary and "### Failures" in run.summary
    results = {r["nodeid"]: r for r in manifest(workspace, "shard-1of1")["results"]}  # type: ignore[attr-defined]
    assert results["tests/test_failing.py::test_broken"]["attempts"] == 3
    assert results["tests/test_flaky.py::test_flaky"]["outcome"] == "flaky"

    merged = shipline(workspace, "merge")
    assert merged.code == 1 and merged.outputs["outcome"] == "fail"
    assert merged.outputs["flaky"] == "1" and merged.outputs["failed"] == "1"


def test_merge_lists_failures_in_node_id_order_whatever_shard_ran_them(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace, failing=True)
    (project / "tests" / "test_also.py").write_text(FAILING.replace("test_broken", "test_also"))
    seconds = write_fast_and_slow_durations(workspace)  # the 8 tests: 1.2 s in all
    # the longest first: test_broken to shard 1, test_also to shard 2
    seconds |= {"tests/test_failing.py::test_broken": 6.0, "tests/test_also.py::test_also": 5.0}
    write_durations(workspace, seconds)
    for shard in ("1", "2"):
        assert shipline(workspace, "run", shards="2", shard=shard, reruns="0").code == 1
    assert "tests/test_failing.py::test_broken" in manifest(workspace, "shard-1of2")["tests"]  # type: ignore[operator]
    merged = shipline(workspace, "merge")
    assert merged.code == 1 and merged.outputs["failed"] == "2", merged.log
    table = merged.summary.split("### Failures", 1)[1]
    assert table.index("test_also.py::test_also") < table.index("test_failing.py::test_broken")


def test_a_rerun_runs_only_its_ids_whatever_path_args_names(tmp_path: Path) -> None:
    # a test path in args (or in the project's addopts) would make pytest run the whole path
    # besides the ids a rerun gives it: the plugin deselects the rest
    workspace = tmp_path / "ws"
    make_project(workspace, flaky=True)
    flaky = []
    for shard in ("1", "2"):
        run = shipline(workspace, "run", shards="2", shard=shard, reruns="1", args="tests")
        assert run.code == 0, run.log
        report = manifest(workspace, f"shard-{shard}of2")
        results = {r["nodeid"]: r["outcome"] for r in report["results"]}  # type: ignore[attr-defined]
        assert sorted(results) == report["tests"]
        flaky += [nodeid for nodeid, outcome in results.items() if outcome == "flaky"]
        for rerun in report["junit"][1:]:  # type: ignore[index]
            root = ET.parse(workspace / "test-results" / rerun).getroot()  # noqa: S314
            assert [c.get("name") for c in root.iter("testcase")] == ["test_flaky"], rerun
    assert flaky == ["tests/test_flaky.py::test_flaky"]


MANY_FAILING = """\
import pytest


@pytest.mark.parametrize("n", range(12))
def test_long_message(n: int) -> None:
    raise AssertionError("x" * 5000)
"""


def test_many_long_failures_stay_readable_where_github_shows_them(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "test_many.py").write_text(MANY_FAILING)
    run = shipline(workspace, "run", shards="1", shard="1", reruns="0")
    assert run.code == 1 and run.outputs["failed"] == "12"
    errors = [(p.get("file"), p.get("line"), m) for n, p, m in run.annotations if n == "error"]
    assert len(errors) == 10 and "2 more failure annotation(s) left out" in run.log
    assert all(len(message) < 2100 for _, _, message in errors)
    assert errors[0][:2] == ("proj/tests/test_many.py", "6")
    rows = [line for line in run.summary.splitlines() if "test_long_message[" in line]
    assert len(rows) == 12 and all(len(row) < 500 for row in rows)
    assert "| proj/tests/test_many.py:6 |" in rows[0]


def test_the_headline_says_how_many_failures_are_errors_as_pytest_counts_them(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace, failing=True)
    failing = shipline(workspace, "run", shards="1", shard="1", reruns="0")
    assert "**9** tests: 8 passed, 1 failed, 0 flaky" in failing.summary, failing.summary
    (project / "tests" / "test_fixture.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef database():\n    raise ConnectionError('refused')"
        "\n\n\ndef test_query(database):\n    pass\n"
    )
    run = shipline(workspace, "run", shards="1", shard="1", reruns="0")
    assert "**10** tests: 8 passed, 2 failed (errors: 1), 0 flaky" in run.summary, run.summary
    assert "1 failed, 8 passed, 1 error" in run.log  # pytest's own count


def test_blocking_flaky_tests_share_githubs_ten_errors_with_the_failures(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace, flaky=True)
    (project / "tests" / "test_many.py").write_text(MANY_FAILING)
    run = shipline(workspace, "run", shards="1", shard="1", reruns="1", flaky="fail")
    assert run.code == 1 and run.outputs["flaky"] == "1", run.log
    assert len([n for n, _, _ in run.annotations if n == "error"]) == 10
    assert "2 more failure annotation(s) left out" in run.log
    assert "1 more flaky annotation(s) left out" in run.log


def test_merge_says_in_which_matrix_cells_a_test_failed(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace, failing=True, flaky=True)
    # a label shows as written, not as Markdown (_a_ would be italic)
    first = shipline(workspace, "run", shards="1", shard="1", label="_a_", reruns="1")
    assert first.code == 1
    heading = github_html(first.summary.splitlines()[0])
    assert heading == "<h2>Tests, shard 1/1 (_a_): ❌ failed</h2>\n", heading
    (project / "tests" / "test_failing.py").unlink()
    assert shipline(workspace, "run", shards="1", shard="1", label="b").code == 0  # not flaky now
    merged = shipline(workspace, "merge")
    assert merged.code == 1
    assert "| Test | Failed in | Outcome |" in merged.summary
    assert "| `tests/test_failing.py::test_broken` | \\_a_ | failed |" in merged.summary
    assert "| Test | Flaky in | Passed on attempt |" in merged.summary
    assert "| `tests/test_flaky.py::test_flaky` | \\_a_ | 2 |" in merged.summary
    # a quarantined test says where it did not pass too
    register(workspace, "2999-12-31")
    held = shipline(workspace, "merge", quarantine="quarantine.yml")
    assert "| Test | Failed or flaky in | Outcome |" in held.summary, held.summary
    assert "| `tests/test_failing.py::test_broken` | \\_a_ | failed |" in held.summary


SLOWER_IN_ONE_CELL = """\
import os
import time
from pathlib import Path


def delay() -> float:
    return float((Path(os.environ["FLAKY_DIR"]) / "delay").read_text())


def test_one() -> None:
    time.sleep(delay())


def test_two() -> None:
    time.sleep(delay())
"""


def test_target_sizes_shards_for_the_slowest_matrix_cell(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "test_slow.py").unlink()
    (project / "tests" / "test_slow.py").write_text(SLOWER_IN_ONE_CELL)
    for label, delay in (("fast", "0.25"), ("slow", "0.75")):  # 0.5 s and 1.5 s in all
        (workspace / "delay").write_text(delay)
        assert shipline(workspace, "run", shards="1", shard="1", label=label).code == 0
    assert shipline(workspace, "merge").code == 0
    factor = json.loads((workspace / "test-durations.json").read_text())["slowest_cell"]
    assert 1.35 < factor < 1.65  # 1.5 s over the mean cell's 1 s
    # the history holds the mean cell (1 s), which alone would fit one shard of 1.2 s
    plan = shipline(workspace, "plan", target="1200ms", **{"python-versions": "3.12"})
    assert plan.code == 0, plan.log
    assert plan.outputs["shards"] == "2"
    assert f"slowest matrix cell took {factor:.2f}x the mean cell" in plan.summary
    history = durations.load(workspace / "test-durations.json")
    mean_cell = sharding.plan(sorted(history.tests), history.seconds, 2).makespan
    assert float(plan.outputs["estimated-seconds"]) == pytest.approx(factor * mean_cell, abs=0.1)

    # a run in which one cell's tests all fail at once says nothing about its speed
    shutil.rmtree(workspace / "test-results")
    for label, delay in (("fast", "0.25"), ("slow", "broken")):
        (workspace / "delay").write_text(delay)
        shipline(workspace, "run", shards="1", shard="1", label=label)
    assert shipline(workspace, "merge").code == 1
    after = json.loads((workspace / "test-durations.json").read_text())
    assert after["slowest_cell"] == factor


TEARDOWN_ERROR = """\
import pytest


@pytest.fixture
def connection():
    yield 1
    raise RuntimeError("connection not closed")


def test_query(connection: int) -> None:
    assert connection == 2, "wrong row count"
"""


def test_a_failed_call_and_a_teardown_error_are_one_failure_in_run_and_merge(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "test_teardown.py").write_text(TEARDOWN_ERROR)
    run = shipline(workspace, "run", shards="1", shard="1", reruns="0")
    assert run.code == 1 and run.outputs["failed"] == "1", run.log
    errors = [(p.get("line"), m) for n, p, m in run.annotations if n == "error"]
    assert len(errors) == 1 and errors[0][0] == "11"  # the assertion, not the fixture
    assert "wrong row count" in errors[0][1] and "failed on teardown" in errors[0][1]
    merged = shipline(workspace, "merge")
    assert merged.code == 1 and merged.outputs["failed"] == "1", merged.log
    assert "tests/test_teardown.py::test_query" in merged.summary


def test_flaky_policy_fail_blocks(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, flaky=True)
    run = shipline(workspace, "run", shards="1", shard="1", flaky="fail")
    assert run.code == 1, run.log
    assert any(name == "error" and "is flaky" in message for name, _, message in run.annotations)
    merged = shipline(workspace, "merge")  # the required check, without a flaky input of its own
    assert merged.code == 1 and merged.outputs["outcome"] == "fail", merged.log
    assert "### Flaky (blocking)" in merged.summary


def register(
    workspace: Path,
    expires: str,
    test: str = "tests/test_failing.py::test_broken",
    owner: str = "@acme/maths",
    issue: str = "https://github.com/acme/demo/issues/7",
) -> None:
    """quarantine.yml with one entry, for ``test``."""
    (workspace / "quarantine.yml").write_text(
        textwrap.dedent(
            f"""\
            version: 1
            tests:
              - id: {test}
                reason: arithmetic is hard
                owner: "{owner}"
                issue: "{issue}"
                expires: {expires}
            """
        )
    )


def test_quarantined_failures_do_not_block_and_expired_entries_do(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, failing=True)
    register(workspace, "2999-12-31")
    held = shipline(
        workspace, "run", shards="1", shard="1", quarantine="quarantine.yml", reruns="0"
    )
    assert held.code == 0, held.log
    assert held.outputs["quarantined"] == "1" and held.outputs["failed"] == "0"
    assert any(
        name == "notice" and "quarantined" in message for name, _, message in held.annotations
    )
    assert "### Quarantined (not blocking)" in held.summary and "@acme/maths" in held.summary
    # how it fails now, beside why it was quarantined: a new way to fail shows in the summary
    row = "| `tests/test_failing.py::test_broken` | failed | assert (1 + 1) == 3 | arithmetic is hard |"
    assert row in held.summary, held.summary
    merged = shipline(workspace, "merge", quarantine="quarantine.yml")
    assert merged.code == 0 and merged.outputs["failed"] == "0", merged.log
    said = "Merged: 9 tests: 8 passed, 0 failed, 0 flaky, 0 skipped, 1 quarantined."
    assert said in merged.log, merged.log
    # junit.xml agrees: held like an xfail, as a skip that says what it was (not a failure)
    root = ET.parse(workspace / "test-results" / "junit.xml").getroot()  # noqa: S314
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("0", "0", "1")
    skip = root.find(".//testcase[@name='test_broken']/skipped")
    assert skip is not None and skip.get("type") == "shipline.quarantined", ET.tostring(root)
    assert skip.get("message", "").startswith(
        "quarantined until 2999-12-31 (owner @acme/maths, https://github.com/acme/demo/issues/7): "
        "arithmetic is hard: assert"
    ), skip.attrib
    assert "test_failing.py" in (skip.text or "")  # the failure's traceback stays

    register(workspace, "2020-01-01")
    expired = shipline(
        workspace, "run", shards="1", shard="1", quarantine="quarantine.yml", reruns="0"
    )
    assert expired.code == 1
    assert ("error", "quarantine.yml", "3") in [
        (n, p.get("file"), p.get("line")) for n, p, _ in expired.annotations
    ]
    assert "expired on 2020-01-01" in expired.log


def test_a_merge_failed_by_an_expired_entry_alone_says_so_in_its_last_line(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    # the register's words are shown as text in the summary, not rendered as HTML
    register(
        workspace,
        "2020-01-01",
        test="tests/test_slow.py::test_slow_one",  # it passes
        owner="<h2>passed</h2>x@example.com",
        issue="https://example.com/1<img/src=x>",
    )
    shard = shipline(workspace, "run", shards="1", shard="1", quarantine="quarantine.yml")
    assert shard.code == 1, shard.log
    merged = shipline(workspace, "merge", quarantine="quarantine.yml")
    assert merged.code == 1 and merged.outputs["failed"] == "0", merged.log
    last = merged.log.rstrip().splitlines()[-1]
    assert last.endswith("0 failed, 0 flaky, 0 skipped, 0 quarantined. 1 quarantine entry expired.")
    assert (
        "expired 2020-01-01 — \\<h2>passed\\</h2>x@example.com, https\\://example.com/1\\<img/src=x>"
    ) in merged.summary, merged.summary


def test_a_shard_that_passes_when_its_failed_job_is_run_again_turns_the_merge_green(
    tmp_path: Path,
) -> None:
    # GitHub's "Re-run failed jobs" keeps each attempt's artifact: merge downloads the failed
    # attempt's report of the shard beside the new one, each in a directory of its own
    workspace = tmp_path / "ws"
    project = make_project(workspace, failing=True)
    write_fast_and_slow_durations(workspace)  # the file the plan job hands every shard
    codes = [
        shipline(
            workspace, "run", env={"GITHUB_RUN_ATTEMPT": "1"}, shards="2", shard=str(shard),
            reruns="0", results=f"test-results/shard-{shard}-attempt-1",
        ).code
        for shard in (1, 2)
    ]  # fmt: skip
    assert sorted(codes) == [0, 1]
    failed = codes.index(1) + 1
    # (the merge writes its durations apart: the re-run shard plans as the plan job's copy says)
    merge = {"results": "test-results", "durations": "merged-durations.json"}
    assert shipline(workspace, "merge", **merge).code == 1
    (project / "tests" / "test_failing.py").write_text(
        FAILING.replace("expected = 3", "expected = 2")
    )
    again = shipline(
        workspace, "run", env={"GITHUB_RUN_ATTEMPT": "2"}, shards="2", shard=str(failed),
        results=f"test-results/shard-{failed}-attempt-2",
    )  # fmt: skip
    assert again.code == 0, again.log
    merged = shipline(workspace, "merge", **merge)
    assert merged.code == 0, merged.log
    assert merged.outputs["tests"] == "9" and merged.outputs["failed"] == "0"
    # failed, then passed when its job ran again: flaky, as on a rerun within the shard
    assert merged.outputs["flaky"] == "1"
    assert (
        "Set aside 1 shard report(s) of earlier attempts of this run (their shards ran again, "
        f"or the plan was made again): `shard-{failed}of2` (attempt 1). 1 test(s) that failed "
        "there passed in the newer attempt: flaky."
    ) in merged.summary
    assert "| Wall time | Attempt |" in merged.summary
    assert "| `tests/test_failing.py::test_broken` | run attempt 2 |" in merged.summary
    assert (
        "warning",
        "tests/test_failing.py::test_broken is flaky: failed in run attempt 1 (1 try there), "
        "then passed in run attempt 2: assert (1 + 1) == 3",
    ) in [(n, m) for n, _, m in merged.annotations]
    assert shipline(workspace, "merge", flaky="fail", **merge).code == 1
    # quarantined, it is counted with the quarantined tests, as in the headline
    register(workspace, "2999-12-31")
    held = shipline(workspace, "merge", quarantine="quarantine.yml", **merge)
    assert held.code == 0 and held.outputs["quarantined"] == "1", held.log
    assert "1 quarantined test(s) did not pass there at first." in held.summary
    assert "in the newer attempt: flaky." not in held.summary
    # every report names the durations file its shard planned with, and the attempt
    planned_with = hashlib.sha256((workspace / "test-durations.json").read_bytes()).hexdigest()
    reports = [json.loads(p.read_text()) for p in workspace.glob("test-results/*/shard-*.json")]
    assert sorted((r["shard"], r["attempt"], r["plan"]) for r in reports) == sorted(
        [(1, 1, planned_with), (2, 1, planned_with), (failed, 2, planned_with)]
    )


def test_a_failure_flaky_in_its_job_run_again_says_it_passed_there_only_on_a_rerun(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, flaky=True)
    shard = {"shards": "1", "shard": "1", "durations": "planned-with.json"}
    assert run_in_attempt(workspace, 1, reruns="0", **shard).code == 1
    (workspace / "ran-once").unlink()  # it fails at first in the new attempt too
    again = run_in_attempt(workspace, 2, reruns="1", **shard)
    assert again.code == 0 and again.outputs["flaky"] == "1", again.log
    merged = shipline(workspace, "merge", results="results", durations="history.json")
    assert merged.code == 0 and merged.outputs["flaky"] == "1", merged.log
    assert (
        "warning",
        "tests/test_flaky.py::test_flaky is flaky: failed in run attempt 1 (1 try there), "
        "then passed on a rerun in run attempt 2: AssertionError: first attempt fails",
    ) in [(n, m) for n, _, m in merged.annotations]


SKIPPED_WHEN_RUN_AGAIN = """\
import os

import pytest

pytestmark = pytest.mark.unit


def test_needs_the_service() -> None:
    if os.environ.get("SERVICE_DOWN"):
        pytest.skip("the service is down")
    assert os.environ.get("SERVICE_FIXED"), "the service answered 500"
"""


def service_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A workspace whose project has a test that needs a service, and the inputs of its shard."""
    workspace = tmp_path / "ws"
    make_project(workspace)
    (workspace / "proj" / "tests" / "test_service.py").write_text(SKIPPED_WHEN_RUN_AGAIN)
    return workspace, {"shards": "1", "shard": "1", "reruns": "0", "durations": "planned-with.json"}


def test_a_failure_its_job_run_again_only_skipped_still_fails_the_merge(tmp_path: Path) -> None:
    workspace, shard = service_project(tmp_path)
    first = run_in_attempt(workspace, 1, **shard)
    assert first.code == 1, first.log
    again = run_in_attempt(workspace, 2, env={"SERVICE_DOWN": "1"}, **shard)
    assert again.code == 0 and again.outputs["skipped"] == "1", again.log
    merged = shipline(workspace, "merge", results="results", durations="history.json")
    assert merged.code == 1 and merged.outputs["failed"] == "1", merged.log
    assert (
        "error",
        "tests/test_service.py::test_needs_the_service failed: in run attempt 1 (1 try there), "
        "then was skipped in run attempt 2: AssertionError: the service answered 500",
    ) in [(n, m.split("\n")[0]) for n, _, m in merged.annotations]
    assert "1 test(s) that failed there were skipped in the newer one: they failed." in (
        merged.summary
    )
    merged_xml = ET.parse(workspace / "results" / "junit.xml")  # noqa: S314 - merge wrote it
    suite = merged_xml.getroot().find("testsuite")
    assert suite is not None and (suite.get("failures"), suite.get("skipped")) == ("1", "0")
    case = suite.find("testcase[@name='test_needs_the_service']")
    assert case is not None and case.find("skipped") is None
    failure = case.find("failure")
    assert failure is not None and "then was skipped in run attempt 2" in failure.get("message", "")


def test_a_test_skipped_in_one_cell_and_passed_in_another_on_a_re_run_is_counted_once(
    tmp_path: Path,
) -> None:
    workspace, shard = service_project(tmp_path)
    for cell in ("a", "b"):
        assert run_in_attempt(workspace, 1, label=cell, **shard).code == 1
    assert run_in_attempt(workspace, 2, env={"SERVICE_DOWN": "1"}, label="a", **shard).code == 0
    assert run_in_attempt(workspace, 2, env={"SERVICE_FIXED": "1"}, label="b", **shard).code == 0
    merged = shipline(workspace, "merge", results="results", durations="history.json")
    assert merged.code == 1 and merged.outputs["failed"] == "1", merged.log
    assert merged.outputs["flaky"] == "0"
    assert merged.summary.count("1 test(s) that failed there") == 1, merged.summary
    assert "1 test(s) that failed there were skipped in the newer one: they failed." in (
        merged.summary
    )


def test_a_test_flaky_in_a_job_run_again_stays_flaky_when_it_then_passes(tmp_path: Path) -> None:
    # flaky: fail failed the shard on a test that passed on its rerun; its job ran again and
    # the test passed at once: the run still saw it fail
    workspace = tmp_path / "ws"
    make_project(workspace, flaky=True)
    shard = {"shards": "1", "shard": "1", "reruns": "1", "flaky": "fail"}
    first = run_in_attempt(workspace, 1, **shard)
    assert first.code == 1 and first.outputs["flaky"] == "1", first.log
    again = run_in_attempt(workspace, 2, **shard)
    assert again.code == 0 and again.outputs["flaky"] == "0", again.log
    merged = shipline(workspace, "merge", results="results", durations="history.json")
    assert merged.code == 1 and merged.outputs["flaky"] == "1", merged.log
    assert "1 test(s) that were flaky there (passed on a rerun) stay flaky." in merged.summary
    assert "that failed there passed" not in merged.summary
    assert (
        "error",
        "tests/test_flaky.py::test_flaky is flaky: flaky in run attempt 1 (passed on rerun 1), "
        "then passed in run attempt 2: AssertionError: first attempt fails",
    ) in [(n, m) for n, _, m in merged.annotations]
    # junit.xml says so too: the earlier attempt's failure, as a flaky one
    merged_xml = ET.parse(workspace / "results" / "junit.xml")  # noqa: S314 - merge wrote it
    case = merged_xml.getroot().find(".//testcase[@name='test_flaky']")
    assert case is not None and [c.tag for c in case] == ["flakyFailure"]


def test_a_failure_in_a_re_run_of_all_jobs_is_recorded_over_the_first_merges_pass(
    tmp_path: Path,
) -> None:
    # "Re-run all jobs" after a run whose merge passed and saved the durations file (lint
    # failed, say): the plan restores that file, and the new attempt fails a test
    workspace, shard = service_project(tmp_path)
    fixed = {"SERVICE_FIXED": "1"}
    assert run_in_attempt(workspace, 1, env=fixed, **shard).code == 0
    merge = {"results": "results", "durations": "history.json"}
    assert shipline(workspace, "merge", **merge).code == 0
    first = json.loads((workspace / "history.json").read_text())["tests"]
    again = run_in_attempt(workspace, 2, **shard)
    assert again.code == 1, again.log
    merged = shipline(workspace, "merge", **merge)
    assert merged.code == 1, merged.log
    after = json.loads((workspace / "history.json").read_text())["tests"]
    service = "tests/test_service.py::test_needs_the_service"
    assert (first[service]["outcome"], after[service]["outcome"]) == ("passed", "failed")
    # the first merge took this run's sample already: the failure adds none, and ends the streak
    assert (after[service]["samples"], after[service]["recent"]) == (
        first[service]["samples"],
        first[service]["recent"],
    )
    assert (first[service]["streak"], after[service]["streak"]) == (1, 0)
    # the passes of this run were counted once, by the first merge
    assert {t: e for t, e in after.items() if t != service} == {
        t: e for t, e in first.items() if t != service
    }
    assert (
        "were counted by an earlier merge (a re-run): their tests' durations and pass streaks "
        "are kept as they were, but for 1 test(s) that a newer attempt failed, found flaky, or "
        "ran where the earlier merge saw them skipped: recorded as it found them."
    ) in merged.summary
    # the same reports merged once more: nothing changes, and nothing is said to
    again_merged = shipline(workspace, "merge", **merge)
    assert json.loads((workspace / "history.json").read_text())["tests"] == after
    assert "pass streaks are kept as they were." in again_merged.summary


def test_a_failure_in_one_cell_s_re_run_is_recorded_though_a_cell_not_re_run_passed_it(
    tmp_path: Path,
) -> None:
    # cell b's job runs again and fails the test; the merge reads the file the first merge
    # saved, and cell a's report, which that merge counted, holds the test's pass
    workspace, shard = service_project(tmp_path)
    fixed = {"SERVICE_FIXED": "1"}
    for cell in ("a", "b"):
        assert run_in_attempt(workspace, 1, env=fixed, label=cell, **shard).code == 0
    merge = {"results": "results", "durations": "history.json"}
    assert shipline(workspace, "merge", **merge).code == 0
    first = json.loads((workspace / "history.json").read_text())["tests"]
    assert run_in_attempt(workspace, 2, label="b", **shard).code == 1
    merged = shipline(workspace, "merge", **merge)
    assert merged.code == 1, merged.log
    after = json.loads((workspace / "history.json").read_text())["tests"]
    service = "tests/test_service.py::test_needs_the_service"
    assert (after[service]["outcome"], after[service]["streak"]) == ("failed", 0)
    assert (after[service]["samples"], after[service]["recent"]) == (
        first[service]["samples"],
        first[service]["recent"],
    )
    assert {t: e for t, e in after.items() if t != service} == {
        t: e for t, e in first.items() if t != service
    }


def test_a_merge_run_again_after_a_shard_ran_again_counts_the_run_once(tmp_path: Path) -> None:
    # the durations file the first merge saved is the one the merge of the re-run reads: that
    # run was counted once already, for every test of the shard set aside too
    workspace = tmp_path / "ws"
    project = make_project(workspace, failing=True)
    shard = {"shards": "1", "shard": "1", "reruns": "0", "durations": "planned-with.json"}
    first = run_in_attempt(workspace, 1, **shard)
    assert first.code == 1, first.log
    merge = {"results": "results", "durations": "history.json"}
    assert shipline(workspace, "merge", **merge).code == 1
    counted = json.loads((workspace / "history.json").read_text())["tests"]
    (project / "tests" / "test_failing.py").write_text(
        FAILING.replace("expected = 3", "expected = 2")
    )
    again = run_in_attempt(workspace, 2, **shard)
    assert again.code == 0, again.log
    merged = shipline(workspace, "merge", **merge)
    assert merged.code == 0 and merged.outputs["flaky"] == "1", merged.log
    after = json.loads((workspace / "history.json").read_text())["tests"]
    broken = "tests/test_failing.py::test_broken"
    assert (counted[broken]["outcome"], after[broken]["outcome"]) == ("failed", "flaky")
    # the passes were counted once, by the first merge
    assert {t: e for t, e in after.items() if t != broken} == {
        t: e for t, e in counted.items() if t != broken
    }


def test_merge_needs_the_quarantine_register_the_shards_judged_with(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, failing=True)
    register(workspace, "2999-12-31")
    held = shipline(workspace, "run", shards="1", shard="1", quarantine="quarantine.yml")
    assert held.code == 0 and held.outputs["quarantined"] == "1", held.log
    unjudged = shipline(workspace, "merge")
    assert unjudged.code == 2
    assert (
        "input 'quarantine' got '': expected the register the shards ran with "
        "(quarantine.yml, says shard-1of1.json)"
    ) in unjudged.log
    assert not (workspace / "test-results" / "junit.xml").exists()  # nothing half-done
    (workspace / "other.yml").write_text(
        (workspace / "quarantine.yml").read_text().replace("2999", "2998")
    )
    other = shipline(workspace, "merge", quarantine="other.yml")
    assert (
        other.code == 2
        and "(quarantine.yml, says shard-1of1.json): its entries differ" in other.log
    )
    # the same entries, laid out and commented otherwise, are the same register
    (workspace / "same.yml").write_text("# moved\n" + (workspace / "quarantine.yml").read_text())
    merged = shipline(workspace, "merge", quarantine="same.yml")
    assert merged.code == 0 and merged.outputs["quarantined"] == "1", merged.log


def test_a_quarantined_test_that_keeps_passing_is_ready_to_release(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, failing=True)
    (workspace / "proj" / "tests" / "test_failing.py").write_text(
        FAILING.replace("expected = 3", "expected = 2")
    )
    register(workspace, "2999-12-31")
    notices = []
    for _ in range(2):
        assert (
            shipline(workspace, "run", shards="1", shard="1", quarantine="quarantine.yml").code == 0
        )
        merged = shipline(workspace, "merge", quarantine="quarantine.yml", **{"release_after": "2"})
        assert merged.code == 0, merged.log
        notices.append(
            [
                p.get("line")
                for n, p, m in merged.annotations
                if n == "notice" and "ready to release" in m
            ]
        )
    assert notices == [[], ["3"]]
    assert "Ready to release from quarantine" in merged.summary


def merged_with_register(workspace: Path, text: str) -> Run:
    """One shard run, then a passing merge with the register ``text``."""
    (workspace / "quarantine.yml").write_text(text)
    assert shipline(workspace, "run", shards="1", shard="1").code == 0
    merged = shipline(workspace, "merge", quarantine="quarantine.yml")
    assert merged.code == 0, merged.log
    return merged


def warnings_of(run: Run) -> list[tuple[str | None, str | None, str]]:
    """(file, line, message) of each warning annotation."""
    return [(p.get("file"), p.get("line"), m) for n, p, m in run.annotations if n == "warning"]


def test_an_entry_naming_a_parametrized_test_without_its_id_is_pointed_out(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    register(workspace, "2999-12-31")
    text = (workspace / "quarantine.yml").read_text()
    merged = merged_with_register(
        workspace,
        text.replace("tests/test_failing.py::test_broken", "tests/test_fast.py::test_add"),
    )
    assert warnings_of(merged) == [
        (
            "quarantine.yml",
            "3",
            "tests/test_fast.py::test_add is the beginning of 6 test id(s), no test id itself: "
            "an entry holds one whole node id, so this one holds none; list the tests it should "
            "hold",
        )
    ]


def test_a_failing_shard_counts_the_tests_an_entry_begins_among_its_own(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, failing=True)
    register(workspace, "2999-12-31", test="tests/test_fast.py::test_add")
    inputs = {"shards": "2", "reruns": "0", "quarantine": "quarantine.yml"}
    runs = [shipline(workspace, "run", shard=str(n), **inputs) for n in (1, 2)]
    assert sorted(run.code for run in runs) == [0, 1]
    failed = [run.code for run in runs].index(1)
    mine = manifest(workspace, f"shard-{failed + 1}of2")["tests"]
    assert isinstance(mine, list)
    count = sum(1 for test in mine if test.startswith("tests/test_fast.py::test_add["))
    assert 0 < count < 6, mine  # the 6 parameters are spread over both shards
    assert warnings_of(runs[failed]) == [
        (
            "quarantine.yml",
            "3",
            f"tests/test_fast.py::test_add is the beginning of {count} test id(s) of this shard, "
            "no test id itself: an entry holds one whole node id, so this one holds none; list "
            "the tests it should hold",
        )
    ]


def test_a_shard_that_fails_a_test_its_register_meant_to_hold_says_why(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, failing=True)
    # written from the workspace root, where the project is the directory proj/
    register(workspace, "2999-12-31", test="proj/tests/test_failing.py::test_broken")
    one_shard = {"shards": "1", "shard": "1", "reruns": "0", "quarantine": "quarantine.yml"}
    run = shipline(workspace, "run", **one_shard)
    assert run.code == 1 and run.outputs["quarantined"] == "0", run.log
    assert [(p.get("file"), m) for n, p, m in run.annotations if n == "warning"] == [
        (
            "quarantine.yml",
            "proj/tests/test_failing.py::test_broken names proj/proj/tests/test_failing.py, "
            "which does not exist: ids are relative to the project directory proj/, as pytest "
            "prints them: write tests/test_failing.py::test_broken",
        )
    ]
    # a shard that passes leaves the register to merge, which says it once for the run
    (workspace / "proj" / "tests" / "test_failing.py").unlink()
    passing = shipline(workspace, "run", **one_shard)
    assert passing.code == 0 and not [n for n, _, _ in passing.annotations if n == "warning"]


def test_an_entry_whose_test_file_is_gone_is_pointed_out(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)  # no tests/test_failing.py: its test was deleted
    register(workspace, "2999-12-31")
    text = (workspace / "quarantine.yml").read_text()
    another_layers = text.replace("tests/test_failing.py", "tests/test_slow.py")
    merged = merged_with_register(workspace, another_layers + text.split("tests:\n", 1)[1])
    assert warnings_of(merged) == [
        (
            "quarantine.yml",
            "8",
            "tests/test_failing.py::test_broken names proj/tests/test_failing.py, which does "
            "not exist: the test was deleted or moved, so remove this entry or update it to the "
            "test's new id",
        )
    ]

    # written from the workspace root, where the project is the directory proj/
    from_root = text.replace("tests/test_failing.py::", "proj/tests/test_slow.py::")
    (workspace / "quarantine.yml").write_text(from_root)
    misplaced = shipline(workspace, "merge", quarantine="quarantine.yml")
    assert [m for n, _, m in misplaced.annotations if n == "warning"] == [
        "proj/tests/test_slow.py::test_broken names proj/proj/tests/test_slow.py, which does not "
        "exist: ids are relative to the project directory proj/, as pytest prints them: write "
        "tests/test_slow.py::test_broken"
    ]

    shutil.rmtree(workspace / "proj" / "tests")  # merge without a checkout: no file is there
    unchecked = shipline(workspace, "merge", quarantine="quarantine.yml")
    assert unchecked.code == 0, unchecked.log
    assert [m for n, _, m in unchecked.annotations if n == "warning"] == []


def test_passes_from_before_a_test_was_quarantined_do_not_release_it(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, failing=True)
    (workspace / "proj" / "tests" / "test_failing.py").write_text(
        FAILING.replace("expected = 3", "expected = 2")
    )
    # main's history saw it pass 12 times; it failed on a branch, and was quarantined
    entry = {"seconds": 0.01, "recent": [0.01], "samples": 12, "outcome": "passed", "streak": 12}
    history = {"version": 1, "tests": {"tests/test_failing.py::test_broken": entry}}
    (workspace / "test-durations.json").write_text(json.dumps(history))
    register(workspace, "2999-12-31")
    quarantined = {"quarantine": "quarantine.yml", "release_after": "2"}
    assert shipline(workspace, "run", shards="1", shard="1", **quarantined).code == 0
    merged = shipline(workspace, "merge", **quarantined)
    assert merged.code == 0, merged.log
    assert not [m for n, _, m in merged.annotations if "ready to release" in m]
    saved = json.loads((workspace / "test-durations.json").read_text())
    assert saved["tests"]["tests/test_failing.py::test_broken"]["held"] == 1


def test_coverage_is_combined_across_shards_run_in_different_checkouts(tmp_path: Path) -> None:
    results = tmp_path / "merge" / "test-results"
    for shard in ("1", "2"):
        workspace = tmp_path / f"checkout{shard}"
        make_project(workspace)
        run = shipline(workspace, "run", shards="2", shard=shard, coverage="true", label="py")
        assert run.code == 0, run.log
        shutil.copytree(workspace / "test-results", results, dirs_exist_ok=True)
    make_project(tmp_path / "merge")
    # calc.py has 8 statements: shard 1 alone covers 4 (the defs and add), shard 2 adds the 3
    # of called_by_one_shard(); unused() never runs. orphan.py's 2 are never imported but are
    # in the project's coverage source, which the merge reads from the project directory.
    merged = shipline(tmp_path / "merge", "merge", **{"coverage_threshold": "65"})
    assert merged.code == 0, merged.log
    assert merged.outputs["coverage"] == "70.00"
    assert "Coverage 70.00%." in merged.log.splitlines()[-1], merged.log  # its last word
    assert (tmp_path / "merge" / "test-results" / ".coverage").is_file()
    said = "Coverage **70.00%**, not below the threshold 65% (coverage-threshold)."
    assert said in merged.summary, merged.summary
    strict = shipline(tmp_path / "merge", "merge", **{"coverage_threshold": "75"})
    assert strict.code == 1
    # right under the counts, which say nothing failed: it is why the headline did
    lines = [line for line in strict.summary.splitlines() if line]
    assert lines[0].endswith("❌ failed") and "0 failed" in lines[1], strict.summary
    assert lines[2] == "❌ Coverage **70.00%**, below the threshold 75% (coverage-threshold).", (
        lines
    )
    last = strict.log.splitlines()[-1]
    assert last.endswith("Coverage 70.00%, below the threshold 75% (coverage-threshold)."), last
    assert any(
        "below the threshold 75% (coverage-threshold)" in m for _, _, m in strict.annotations
    )
    # without the input, the project's own fail_under gates
    with (tmp_path / "merge" / "proj" / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n[tool.coverage.report]\nfail_under = 70.01\n")
    own = shipline(tmp_path / "merge", "merge")
    assert own.code == 1, own.log
    assert any(
        "below the threshold 70.01% (the project's fail_under, to its precision of 0 decimal(s))"
        in m
        for _, _, m in own.annotations
    )


def test_coverage_with_xdist_workers_only_when_coverage_measures_them(tmp_path: Path) -> None:
    # coverage.py would measure only xdist's controller, which runs no test: 0 % with no hint
    make_project(tmp_path)
    refused = shipline(tmp_path, "run", shards="1", shard="1", coverage="true", args="-n 2")
    assert refused.code == 2, refused.log
    assert "pytest-xdist (-n) runs the tests in worker processes" in refused.log
    assert not (tmp_path / "test-results").exists()
    # coverage.py's start-up hook measures the workers into files of their own, not the shard's
    hooked = run_action(
        "test-matrix",
        tmp_path,
        {"mode": "run", "path": "proj", "python": sys.executable, "shards": "1", "shard": "1"}
        | {"coverage": "true", "args": "-n 2"},
        env={"COVERAGE_PROCESS_START": str(tmp_path / "proj" / "pyproject.toml")},
    )
    assert hooked.code == 2, hooked.log
    in_process = shipline(tmp_path, "run", shards="1", shard="1", coverage="true", args="-n 0")
    assert in_process.code == 0, in_process.log
    measured_alone = shipline(tmp_path, "merge").outputs["coverage"]
    shutil.rmtree(tmp_path / "test-results")
    # coverage.py that measures the processes it starts measures xdist's workers too
    pyproject = tmp_path / "proj" / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'source = ["app"]', 'source = ["app"]\npatch = ["subprocess"]'
        )
    )
    workers = shipline(tmp_path, "run", shards="1", shard="1", coverage="true", args="-n 2")
    assert workers.code == 0, workers.log
    merged = shipline(tmp_path, "merge")
    assert merged.code == 0, merged.log
    assert merged.outputs["coverage"] == measured_alone != "0.00"


def test_coverage_measured_in_one_matrix_cell_is_the_project_s(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    for label, measure in (("py3.12", "true"), ("py3.13", "false")):
        for shard in ("1", "2"):
            run = shipline(workspace, "run", shards="2", shard=shard, label=label, coverage=measure)
            assert run.code == 0, run.log
    merged = shipline(workspace, "merge", coverage_threshold="65")
    assert merged.code == 0, merged.log
    assert merged.outputs["coverage"] == "70.00"
    assert "coverage measured in py3.12, not in py3.13" in merged.log


def test_a_warning_about_the_project_s_coverage_config_issues_no_workflow_command(
    tmp_path: Path,
) -> None:
    # coverage.py names an unknown option of the project's config in its warning, and a
    # quoted TOML key can hold line breaks: printed raw, the runner would take them as commands
    workspace = tmp_path / "ws"
    project = make_project(workspace, failing=True)
    key = r'"x\n::warning file=app.py,line=1::forged\n::stop-commands::hidden"'
    with (project / "pyproject.toml").open("a") as config:
        config.write(f"{key} = 1\n")
    run = shipline(workspace, "run", shards="1", shard="1", coverage="true", reruns="0")
    assert run.code == 1, run.log
    merged = shipline(workspace, "merge")
    assert merged.code == 1, merged.log
    levels = [(name, message.splitlines()[0]) for name, _, message in merged.annotations]
    assert ("error", "tests/test_failing.py::test_broken failed: assert (1 + 1) == 3") in levels
    assert not [m for n, _, m in merged.annotations if m == "forged"], merged.log
    # a line of the log, not an annotation: those are counted for the tests' own
    assert "warning: CoverageWarning: Unrecognized option '[tool.coverage.run] x\n" in merged.log
    assert not [m for n, _, m in merged.annotations if "Unrecognized option" in m]


def test_coverage_measured_with_a_plugin_of_the_project_s_is_refused_clearly(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "covplugin.py").write_text("def coverage_init(reg, options):\n    pass\n")
    config = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        config.replace('source = ["app"]', 'source = ["app"]\nplugins = ["covplugin"]')
    )
    run = shipline(workspace, "run", shards="1", shard="1", coverage="true")
    assert run.code == 0, run.log
    merged = shipline(workspace, "merge")
    assert merged.code == 1
    assert [m for n, _, m in merged.annotations if n == "error"] == [
        "coverage could not combine the shards' data: the project's coverage configuration "
        "loads the plugin covplugin, which merge cannot import (it combines in shipline's "
        "environment, not the project's): coverage measured with plugins cannot be merged"
    ], merged.log


def covered_in_two_shards(workspace: Path) -> Path:
    """The project run in 2 shards with coverage; shard 2's data file (it alone runs
    called_by_one_shard)."""
    make_project(workspace)
    for shard in ("1", "2"):
        run = shipline(workspace, "run", shards="2", shard=shard, coverage="true")
        assert run.code == 0, run.log
    [data] = (workspace / "test-results").glob("coverage-shard-2of2.*")
    return data


@pytest.mark.parametrize("damage", ["empty", "cut", "foreign"])
def test_coverage_data_that_coverage_cannot_read_blocks_the_merge(
    tmp_path: Path, damage: str
) -> None:
    # coverage.py's combine would pass over it (a warning, or not a word for an empty file or
    # a database of other tables), and a total without it is not the project's
    workspace = tmp_path / "ws"
    data = covered_in_two_shards(workspace)
    data.write_bytes(b"" if damage == "empty" else data.read_bytes()[:4096])
    if damage == "foreign":
        data.unlink()
        with contextlib.closing(sqlite3.connect(data)) as database, database:
            database.execute("CREATE TABLE results (name TEXT)")
    before = data.read_bytes()
    merged = shipline(workspace, "merge")
    assert merged.code == 1, merged.log
    [error] = [m for n, _, m in merged.annotations if n == "error"]
    assert error.startswith("coverage could not combine the shards' data: "), error
    assert data.name in error
    assert data.read_bytes() == before  # the shard's file as it came


def test_a_measured_source_merge_cannot_read_blocks_it_under_ignore_errors(
    tmp_path: Path,
) -> None:
    # coverage.py would report without it, with a warning: a file the shard job generated,
    # or one a newer Python than merge's wrote
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "test_generated.py").write_text(
        "from pathlib import Path\n\n\n"
        "def test_generated():\n"
        "    Path(__file__).parent.parent.joinpath('app', 'generated.py').write_text("
        "'X = 1\\nY = 2\\n')\n"
        "    from app import generated\n\n"
        "    assert generated.X == 1\n"
    )
    with (project / "pyproject.toml").open("a") as config:
        # not even with the warning silenced (several projects silence it)
        config.write('disable_warnings = ["couldnt-parse"]\n')
        config.write("\n[tool.coverage.report]\nignore_errors = true\n")
    run = shipline(workspace, "run", shards="1", shard="1", coverage="true")
    assert run.code == 0, run.log
    (project / "app" / "generated.py").unlink()
    merged = shipline(workspace, "merge")
    assert merged.code == 1, merged.log
    [error] = [m for n, _, m in merged.annotations if n == "error"]
    assert error.startswith("coverage could not combine the shards' data: Couldn't parse '")
    assert "app/generated.py" in error
    assert error.endswith(
        " (this checkout has no such file, as when a test or the shard job wrote it: leave it "
        "out of the measurement with [run] omit)"
    ), error
    # syntax merge's Python cannot parse, where the shards ran a newer one: merge says so
    (project / "app" / "generated.py").write_text("type Number = int\n")
    [report] = (workspace / "test-results").glob("shard-1of1.json")
    data = json.loads(report.read_text())
    data["python"] = "3.99.1"
    report.write_text(json.dumps(data))
    newer = shipline(workspace, "merge")
    [error] = [m for n, _, m in newer.annotations if n == "error"]
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert error.endswith(
        f" (merge reads the sources with Python {here}, older than the 3.99 a shard measured: "
        "run merge on Python 3.99, e.g. with actions/setup-python before it)"
    ), error


def test_coverage_data_naming_a_file_outside_the_workspace_blocks_the_merge(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    data = covered_in_two_shards(workspace)
    outside = tmp_path / "outside.py"  # a report could name any file, such as /dev/zero
    outside.write_text("a = 1\nb = 2\nc = 3\nd = 4\n")
    measured = coverage.CoverageData(basename=str(data))
    measured.read()
    measured.add_lines({str(outside): [1]})
    measured.write()
    merged = shipline(workspace, "merge")
    assert merged.code == 1, merged.log
    assert [m for n, _, m in merged.annotations if n == "error"] == [
        "coverage could not combine the shards' data: coverage data of the shards names 1 "
        f"file(s) outside the workspace (first: {outside}), which merge does not read: leave "
        "them out of the measurement ([run] source or omit in the project's coverage "
        "configuration)"
    ]


def test_the_project_s_coverage_debug_settings_do_not_reach_the_merge(tmp_path: Path) -> None:
    # its debug output would print the config's strings raw, or append them to any file
    workspace = tmp_path / "ws"
    project = make_project(workspace, failing=True)
    with (project / "pyproject.toml").open("a") as config:
        config.write('debug = ["config"]\ndebug_file = "${GITHUB_WORKSPACE}/debug.txt"\n')
        config.write('\n[tool.coverage.html]\ntitle = "x\\n::warning file=app.py,line=1::forged"\n')
    run = shipline(workspace, "run", shards="1", shard="1", coverage="true", reruns="0")
    assert run.code == 1, run.log
    (workspace / "debug.txt").unlink(missing_ok=True)  # the shard's coverage run wrote it
    merged = shipline(workspace, "merge")
    assert merged.code == 1, merged.log
    assert merged.outputs["coverage"], merged.log
    assert "forged" not in [m for _, _, m in merged.annotations]
    assert "::warning file=app.py" not in merged.log
    assert not (workspace / "debug.txt").exists()


def test_coverage_from_only_some_shards_blocks_before_anything_is_written(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    for shard, measure in (("1", "true"), ("2", "false")):
        assert shipline(workspace, "run", shards="2", shard=shard, coverage=measure).code == 0
    merged = shipline(workspace, "merge")
    assert merged.code == 1
    assert (
        "coverage data from only some shards of a matrix cell (shard-2of2 ran without "
        "coverage: true)" in merged.log
    )
    assert not (workspace / "test-durations.json").exists()
    assert not (workspace / "test-results" / "junit.xml").exists()


def test_coverage_measures_the_project_not_shiplines_plugin(tmp_path: Path) -> None:
    from coverage import CoverageData

    workspace = tmp_path / "ws"
    project = make_project(workspace)
    # Without a configured source, coverage.py measures every file that runs, shipline's shard
    # plugin included: it must not reach the project's data, and the project's own omit holds.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('source = ["app"]', 'omit = ["tests/*"]'))
    run = shipline(workspace, "run", shards="1", shard="1", coverage="true")
    assert run.code == 0, run.log
    measured: set[str] = set()
    for path in (workspace / "test-results").glob("coverage-shard-1of1.*"):
        data = CoverageData(basename=str(path))
        data.read()
        measured.update(data.measured_files())
    outside = {f for f in measured if not Path(f).is_relative_to(project.resolve())}
    assert not outside
    relative = {str(Path(f).relative_to(project.resolve())) for f in measured}
    assert "app/calc.py" in relative
    assert not any(f.startswith("tests/") for f in relative)
    merged = shipline(workspace, "merge")
    assert merged.code == 0, merged.log
    assert merged.outputs["coverage"] == "87.50"  # calc.py: 7 of 8 (unused() never runs)


def test_coverage_without_coverage_in_the_project_env_says_how_to_install(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    run = shipline(workspace, "run", python=EXAMPLE_PYTHON, shards="1", shard="1", coverage="true")
    assert run.code == 2, run.log
    assert "coverage.py" in run.log and "pip install coverage" in run.log
    assert not (workspace / "test-results").exists()


def test_zero_tests_collected_is_a_failure(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    for mode, extra in (("plan", {}), ("run", {"shards": "1", "shard": "1"})):
        run = shipline(workspace, mode, markers="nothing_has_this", **extra)
        assert run.code == 1, run.log
        assert "collected no tests" in run.log


def test_collection_errors_block_with_the_reason(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "test_typo.py").write_text("import not_a_module\n")
    run = shipline(workspace, "run", shards="1", shard="1")
    assert run.code == 1
    assert "could not collect" in run.log and "test_typo.py" in run.log


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            {"mode": "run", "shards": "2", "shard": "3"},
            "input 'shard' got '3': expected an index from 1 to 2",
        ),
        ({"mode": "run", "shards": "2", "shard": "0"}, "input 'shard' got '0'"),
        ({"mode": "deploy"}, "input 'mode' got 'deploy': expected one of plan, run, merge"),
        (
            {"mode": "run", "shards": "1", "shard": "1", "durations": "bad.json"},
            "durations file bad.json:3: not JSON",
        ),
        (
            {"mode": "run", "shards": "1", "shard": "1", "quarantine": "q.yml"},
            "quarantine register q.yml:2: ",
        ),
        (
            {"mode": "plan", "python": "/nonexistent/python"},
            "input 'python' got '/nonexistent/python'",
        ),
        ({"mode": "merge", "coverage_threshold": "120"}, "input 'coverage-threshold' got '120'"),
        (
            {"mode": "run", "shards": "1", "shard": "1", "timeout": "0s"},
            "input 'timeout' got '0s': expected a duration above zero",
        ),
        (
            {"mode": "plan", "shards": "65", "python_versions": "3.12,3.13", "os": "a,b"},
            "input 'shards' got '65': expected at most 64, so that Python x OS x shards",
        ),
        (
            {"mode": "plan", "python_versions": "3.12,3.12"},
            "input 'python-versions' got '3.12,3.12': expected distinct versions",
        ),
        ({"mode": "plan", "os": "a,a"}, "input 'os' got 'a,a': expected distinct runner labels"),
        (
            {"mode": "plan", "os": "ubuntu-latest,windows-2025"},
            "input 'os' got 'ubuntu-latest,windows-2025': expected labels of Linux or macOS",
        ),
        (
            {"mode": "merge", "matrix": '{"python": ["3.12"]}'},
            "input 'matrix' got '{\"python\": [\"3.12\"]}': expected the plan's matrix output",
        ),
        (
            {"mode": "merge", "matrix": '{"python":["3.12"],"os":["x"],"shard":[1,3]}'},
            "expected the plan's matrix output",
        ),
        (
            {"mode": "run", "shards": "1", "shard": "1", "args": "-x --rootdir=.."},
            "input 'args' got '-x --rootdir=..': expected pytest options without --rootdir",
        ),
        (
            {"mode": "plan", "args": "--rootdir /tmp"},
            "expected pytest options without --rootdir",
        ),
        (
            {"mode": "run", "shards": "1", "shard": "1", "args": "-p no:junitxml"},
            "input 'args' got '-p no:junitxml': expected pytest options without -p no:junitxml",
        ),
        (
            {"mode": "plan", "args": "-x -pno:junitxml"},
            "expected pytest options without -p no:junitxml",
        ),
        (
            {"mode": "run", "shards": "2", "shard": "1", "keep_together": "package"},
            "input 'keep-together' got 'package': expected one of none, class, module",
        ),
        (
            {"mode": "plan", "python": "/usr/bin/python3"},
            "pytest (for /usr/bin/python3) is not installed",
        ),
        (
            {"mode": "run", "shards": "1", "shard": "1", "python": "/usr/bin/python3"},
            "pytest (for /usr/bin/python3) is not installed",
        ),
    ],
)
def test_bad_input_exits_2_and_names_it(
    tmp_path: Path, inputs: dict[str, str], expected: str
) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    (workspace / "bad.json").write_text('{\n "version": 1,\n "tests": {,}\n}\n')
    (workspace / "q.yml").write_text("version: 1\ntests: {}\n")
    mode = inputs.pop("mode")
    run = shipline(workspace, mode, **inputs)
    assert run.code == 2, run.log
    assert expected in run.log
    assert not (workspace / "test-results").exists()


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("q.yml", "version: 1\ntests:\n  - id: tests/test_a.py::test_a\n", "3"),
        ("d.json", '{\n "version": 1,\n "tests": {,}\n}\n', "3"),
    ],
    ids=["register", "durations"],
)
def test_a_malformed_input_file_s_error_sits_on_its_line(
    tmp_path: Path, name: str, text: str, line: str
) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    (workspace / name).write_text(text)
    given = {"quarantine": name} if name.endswith(".yml") else {"durations": name}
    run = shipline(workspace, "plan", **given)
    assert run.code == 2, run.log
    [(_, where, message)] = [a for a in run.annotations if a[0] == "error"]
    assert (where.get("file"), where.get("line")) == (name, line), message
    assert message.startswith(
        f"{'quarantine register' if name == 'q.yml' else 'durations file'} {name}:{line}: "
    )


@pytest.mark.parametrize("mode", ["plan", "run"])
def test_a_pytest_too_old_for_the_plugin_is_bad_input(tmp_path: Path, mode: str) -> None:
    # pytest 6 has no pytest.StashKey: the plugin would die on import, the run with a traceback.
    # What the project's interpreter imports as pytest, from the directory it runs in, is what
    # shipline asks for the version (pytest 6.2.5 itself needs the network to install).
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "pytest.py").write_text("__version__ = '6.2.5'\n")
    inputs = {"shards": "1", "shard": "1"} if mode == "run" else {}
    run = shipline(workspace, mode, **inputs)
    assert run.code == 2, run.log
    assert [message for kind, _, message in run.annotations if kind == "error"] == [
        f"pytest 6.2.5 (for {sys.executable}) is too old for shipline's test-matrix, which "
        f"needs pytest 7.0 or newer: upgrade it in the project's test environment, e.g. "
        f"`{sys.executable} -m pip install 'pytest>=7.0'`"
    ]
    assert not (workspace / "test-results").exists()


def test_testpaths_pytest_cannot_find_under_the_project_are_bad_input(tmp_path: Path) -> None:
    """A configuration above the project (a monorepo's) names testpaths from its own directory:
    pytest would only warn and collect everything below the project, other tools' tests too."""
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["tests"]', '["proj/tests"]'))
    for mode, inputs in (("plan", {}), ("run", {"shards": "1", "shard": "1"})):
        refused = shipline(workspace, mode, **inputs)
        assert refused.code == 2, refused.log
        assert "pytest found none of the testpaths of the project's pytest configuration" in (
            refused.log
        )
    assert shipline(workspace, "plan", paths="tests").code == 0  # paths: testpaths unused


def test_tests_collected_outside_the_project_are_bad_input(tmp_path: Path) -> None:
    """pytest collects tests outside the rootdir (a testpaths entry or an argument such as
    ../elsewhere, a --pyargs package installed elsewhere) under ids that are no paths in the
    project: a rerun by id would run the project's test of that name, or none. (pytest before
    7.2 does not say where its arguments came from: the collected files say it.)"""
    workspace = tmp_path / "ws"
    project = make_project(workspace, failing=True)
    (workspace / "elsewhere").mkdir()
    (workspace / "elsewhere" / "test_far.py").write_text(FAILING.replace("broken", "far"))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["tests"]', '["tests", "../elsewhere"]'))
    said = (
        f"pytest collected tests outside {project} (the rootdir: the path input): "
        f"{workspace / 'elsewhere' / 'test_far.py'}; a test's id is its path under the project"
    )
    shard = {"shards": "1", "shard": "1", "reruns": "0"}
    runs = [("run", shard), ("run", {**shard, "args": "-n 2"})]
    # of 2 shards, the one that did not get the outside test refuses as well
    runs += [("run", {**shard, "shards": "2", "shard": str(n)}) for n in (1, 2)]
    for mode, inputs in (("plan", {}), *runs):
        refused = shipline(workspace, mode, **inputs)
        assert refused.code == 2, refused.log
        assert said in refused.log
        assert "test_broken" not in refused.log  # refused before any test ran
    assert not (workspace / "test-results").exists()
    assert shipline(workspace, "plan", paths="tests").code == 0  # paths: testpaths unused
    refused = shipline(workspace, "plan", paths="tests", args="../elsewhere")
    assert refused.code == 2 and said in refused.log, refused.log
    # a symbolic link in the project to tests kept elsewhere: their ids are under the project
    (project / "linked").symlink_to("../elsewhere", target_is_directory=True)
    pyproject.write_text(pyproject.read_text().replace('"../elsewhere"', '"linked"'))
    plan = shipline(workspace, "plan")
    assert plan.code == 0 and plan.outputs["tests"] == "10", plan.log
    plan = shipline(workspace, "plan", paths="tests,linked")  # the paths input takes it too
    assert plan.code == 0 and plan.outputs["tests"] == "10", plan.log


def test_merge_refuses_to_run_on_another_project_than_the_shards(tmp_path: Path) -> None:
    """In a monorepo, a merge without the shards' path would read another directory's
    coverage settings (skipping the project's gate) and annotate files that are not there."""
    workspace = tmp_path / "ws"
    make_project(workspace)
    (workspace / "pyproject.toml").write_text('[project]\nname = "monorepo"\nversion = "0"\n')
    assert shipline(workspace, "run", shards="1", shard="1").code == 0
    merged = shipline(workspace, "merge", path=".")
    assert merged.code == 2, merged.log
    assert (
        "input 'path' got '.': expected the project directory the shards ran in (proj, says "
        "shard-1of1.json)" in merged.log
    )
    assert not (workspace / "test-durations.json").exists()
    assert shipline(workspace, "merge").code == 0  # path: proj, as the shards


def test_a_keyword_that_reads_like_a_plugin_option_is_no_plugin_option(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    plan = shipline(workspace, "plan", args="-k no:junitxml")
    assert plan.code == 1, plan.log  # no test matches that keyword: not bad input
    assert "without -p no:junitxml" not in plan.log


def test_merge_refuses_missing_shards(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    assert shipline(workspace, "run", shards="2", shard="1").code == 0
    merged = shipline(workspace, "merge")
    assert merged.code == 1
    assert "missing" in merged.log and "shard-2of2" in merged.log


def test_merge_refuses_a_junit_report_that_does_not_match_its_shard_report(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    assert shipline(workspace, "run", shards="1", shard="1").code == 0
    (workspace / "test-results" / "shard-1of1.xml").write_text(
        '<testsuites><testsuite name="pytest" tests="0"/></testsuites>'
    )
    merged = shipline(workspace, "merge")
    assert merged.code == 1
    assert "shard-1of1.xml holds 0 test(s) but its shard report shard-1of1.json 8" in merged.log
    assert not list((workspace / "test-results").glob("*junit*"))
    assert not (workspace / "test-durations.json").exists()


def test_merge_with_the_plans_matrix_refuses_a_cell_that_reported_nothing(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    for shard in ("1", "2"):
        run = shipline(workspace, "run", shards="2", shard=shard, label="py3.12-ubuntu")
        assert run.code == 0, run.log
    one_cell = '{"python":["3.12"],"os":["ubuntu-latest"],"shard":[1,2]}'
    assert shipline(workspace, "merge", matrix=one_cell).code == 0
    two_cells = '{"python":["3.12","3.13"],"os":["ubuntu-latest"],"shard":[1,2]}'
    merged = shipline(workspace, "merge", matrix=two_cells)
    assert merged.code == 1 and "the plan's matrix has 2 cell(s)" in merged.log, merged.log


def test_merge_refuses_shards_that_split_different_collections(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    # a module whose tests depend on the shard job's environment: the jobs collect 8 and 9
    (project / "tests" / "test_env.py").write_text(
        "import os\n\nif os.environ.get('EXTRA_TEST'):\n\n    def test_extra() -> None:\n"
        "        pass\n"
    )
    for shard, env in (("1", {"EXTRA_TEST": "1"}), ("2", {})):
        inputs = {"mode": "run", "path": "proj", "python": sys.executable, "shards": "2"}
        run = run_action("test-matrix", workspace, {**inputs, "shard": shard}, env=env)
        assert run.code == 0, run.log
    merged = shipline(workspace, "merge")
    assert merged.code == 1, merged.log
    assert merged.log.count("::error") == 1
    assert "the shards of the run split different collections: shard-1of2 9 tests collected" in (
        merged.log
    )
    assert not (workspace / "test-durations.json").exists()


def test_tests_that_never_ran_block(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, failing=True)
    run = shipline(workspace, "run", shards="1", shard="1", args="-x")
    assert run.code == 1
    assert "did not run" in run.log
    # the failure that stopped it is named and annotated on its line, as pytest lists it
    assert (
        "stopped the run, after 1 failing test(s) (first: tests/test_failing.py::test_broken)"
        in (run.log)
    )
    assert [(n, p.get("file"), p.get("line")) for n, p, _ in run.annotations] == [
        ("error", "proj/tests/test_failing.py", "8"),
        ("error", None, None),
    ]
    # a quarantined failure stops pytest too: said, since its annotation is a mere notice
    register(workspace, "2999-12-31")
    held = shipline(workspace, "run", shards="1", shard="1", args="-x", quarantine="quarantine.yml")
    assert held.code == 1
    assert (
        "(first: tests/test_failing.py::test_broken); 1 of them quarantined, which pytest's -x "
        "and --maxfail count like any failure"
    ) in held.log
    # it wrote no report: merge says where to look, not only that none came
    merged = shipline(workspace, "merge")
    assert merged.code == 1
    assert "when -x or --maxfail stopped pytest: its log says why" in merged.log, merged.log


def test_plan_chooses_the_shard_count_from_the_target_and_stored_durations(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace)
    ids = [f"tests/test_fast.py::test_add[{n}]" for n in range(6)]
    ids += ["tests/test_slow.py::test_slow_one", "tests/test_slow.py::test_slow_two"]
    write_durations(workspace, dict.fromkeys(ids, 30.0))
    chosen = shipline(
        workspace,
        "plan",
        target="1m",
        **{"python_versions": "3.13", "os": "ubuntu-24.04, macos-15"},
    )
    assert chosen.code == 0, chosen.log
    assert chosen.outputs["shards"] == "4"  # 240 s of tests, 60 s per shard
    assert chosen.outputs["estimated-seconds"] == "60.0"
    matrix = json.loads(chosen.outputs["matrix"])
    assert matrix == {"python": ["3.13"], "os": ["ubuntu-24.04", "macos-15"], "shard": [1, 2, 3, 4]}
    capped = shipline(workspace, "plan", target="1m", **{"max_shards": "3"})
    assert capped.outputs["shards"] == "3"
    said = (
        "target 1m needs 4 shards, but max-shards allows 3: the longest shard is estimated at "
        "90.0 s, so mind the shard jobs' timeouts"
    )
    assert ("warning", said) in [(n, m) for n, _, m in capped.annotations]
    assert "⚠️ Target 1m needs 4 shards" in capped.summary
    assert [n for n, _, _ in chosen.annotations if n == "warning"] == []


def test_pytest_output_is_shown_live_but_cannot_issue_workflow_commands(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "test_prints.py").write_text(
        "def test_prints() -> None:\n    print('::error file=app/calc.py::injected by a test')\n"
    )
    run = shipline(workspace, "run", shards="1", shard="1", args="-s")
    assert run.code == 0, run.log
    lines = run.log.splitlines()
    injected = next(i for i, line in enumerate(lines) if "injected by a test" in line)
    stop = max(i for i, line in enumerate(lines[:injected]) if line.startswith("::stop-commands::"))
    token = lines[stop].removeprefix("::stop-commands::")
    resume = lines.index(f"::{token}::")
    assert stop < injected < resume  # the runner reads it as text, not as an annotation
    assert "9 passed in" in lines[resume - 1]  # pytest's own closing line, shown as it ran


# 2,600 ids of 1,000 characters: more than Linux's 2 MB for a whole command line. They all
# fail once, so the rerun has to name every one of them to pytest.
LONG_IDS = """\
import os
from pathlib import Path

import pytest

MARKER = Path(os.environ["FLAKY_DIR"]) / "long-ids-ran-once"
FIRST_RUN = not MARKER.exists()
MARKER.touch()


@pytest.mark.parametrize("case", range(2600), ids=lambda n: f"{n:04d}-" + "x" * 995)
def test_case(case: int) -> None:
    assert not FIRST_RUN
"""


def test_a_rerun_whose_test_ids_overflow_a_command_line_still_runs(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    project = make_project(workspace)
    (project / "tests" / "test_long_ids.py").write_text(LONG_IDS)
    run = shipline(workspace, "run", shards="1", shard="1", reruns="1")
    assert run.code == 0, run.log[-2000:]
    assert "2600 failed, 8 passed in" in run.log
    assert "2600 passed in" in run.log  # pytest read every id from the file shipline wrote
    results = manifest(workspace, "shard-1of1")["results"]
    assert isinstance(results, list)
    assert len(results) == 2608
    outcomes = [r["outcome"] for r in results]
    assert outcomes.count("flaky") == 2600 and outcomes.count("passed") == 8
