"""test-matrix against pytest processes that misbehave: output settings, crashes, leftovers.

Each test writes a small project, runs the action through the CLI as a runner does, and runs
the project's tests with a real pytest (this environment's).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from shipline.tools import PROCESS_GROUPS
from tests.support.action_runner import ActionRun, run_action
from tests.support.processes import ended, long_lived_child

TWELVE_TESTS = """\
import pytest


@pytest.mark.parametrize("n", range(6))
def test_one(n):
    pass


@pytest.mark.parametrize("n", range(6))
def test_two(n):
    pass
"""
# printed at import: with -s it lands in pytest's listing of the collected tests
NOISY_CONFTEST = 'print("conftest loaded")\nprint()\nprint("tests/fake.py::not_a_test")\n'

needs_process_groups = pytest.mark.skipif(not PROCESS_GROUPS, reason="no process groups (Windows)")


def make_project(workspace: Path, tests: dict[str, str], ini: str = "") -> None:
    project = workspace / "proj"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text(f"[pytest]\ntestpaths = tests\n{ini}")
    for name, source in tests.items():
        (project / "tests" / name).write_text(textwrap.dedent(source))


def shipline(
    workspace: Path, mode: str, env: dict[str, str] | None = None, **inputs: str
) -> ActionRun:
    if mode == "run":
        inputs = {"shards": "1", "shard": "1", **inputs}
    return run_action(
        "test-matrix",
        workspace,
        {"mode": mode, "path": "proj", "python": sys.executable, **inputs},
        env=env,
    )


def error(run: ActionRun) -> str:
    errors = run.errors()
    assert errors, run.log
    return errors[-1]


@pytest.mark.parametrize(
    ("ini", "inputs", "conftest"),
    [
        ("addopts = -ra -q\n", {}, None),  # -qq lists files with their counts
        ("", {"args": "-v"}, None),  # -v -q: the tree of collectors
        ("", {"args": "-s"}, NOISY_CONFTEST),  # prints, and a blank line, amid the listing
        ("addopts = -p no:terminal\n", {}, None),  # no listing at all
        ("", {"args": "-p no:terminal"}, None),  # nor -q, the terminal plugin's option
    ],
    ids=["addopts-q", "args-v", "args-s", "no-terminal", "args-no-terminal"],
)
def test_plan_counts_the_collected_tests_whatever_pytest_prints(
    tmp_path: Path, ini: str, inputs: dict[str, str], conftest: str | None
) -> None:
    tests = {"test_many.py": TWELVE_TESTS}
    if conftest:
        tests["conftest.py"] = conftest
    make_project(tmp_path, tests, ini)
    run = shipline(tmp_path, "plan", shards="3", **inputs)
    assert run.code == 0, run.log
    assert run.outputs["tests"] == "12" and run.outputs["shards"] == "3"


STRESS_AND_SLOW = """\
import pytest


@pytest.mark.stress
@pytest.mark.parametrize("n", range(6))
def test_stress(n):
    pass


@pytest.mark.slow
def test_slow():
    pass


def test_quick():
    pass
"""


@pytest.mark.parametrize(
    ("markers", "tests", "said"),
    [
        ("not slow", "7", True),
        ("not stress_heavy", "8", True),
        ("stress", "6", True),  # a layer of what addopts leaves out
        ("slow or quick and not stress", "1", True),  # and binds tighter: no part of its own
        ("(not stress) and (not slow)", "1", False),
        ("not  slow and not (stress)", "1", False),  # the same parts, spelt otherwise
        ("not stress", "2", False),
        ("", "2", False),
    ],
    ids=[
        "replaces",
        "a-longer-name",
        "inverts",
        "top-level-or",
        "keeps-both",
        "spelt-otherwise",
        "same",
        "none",
    ],
)
def test_plan_says_when_markers_sets_aside_the_projects_own_marker_expression(
    tmp_path: Path, markers: str, tests: str, said: bool
) -> None:
    # pytest keeps the last -m: addopts' "not stress" gives way to the input, as it would to
    # pytest -m on the command line, and the stress tests the project leaves out are planned
    ini = "addopts = -m 'not stress'\nmarkers =\n    stress\n    slow\n"
    make_project(tmp_path, {"test_marked.py": STRESS_AND_SLOW}, ini)
    run = shipline(tmp_path, "plan", markers=markers)
    assert run.code == 0 and run.outputs["tests"] == tests, run.log
    notices = [m for n, _, m in run.annotations if n == "notice"]
    if not said:
        assert notices == [] and "stands in place of" not in run.summary, run.log
        return
    [notice] = notices
    assert notice == (
        f"markers '{markers}' stands in place of the -m 'not stress' of the project's options "
        "(addopts, PYTEST_ADDOPTS or args), as pytest keeps the last -m: where the layer should "
        "keep that selection too, join both with 'and' in markers"
    )
    assert f"Markers '{markers}' stands in place of" in run.summary


@pytest.mark.parametrize("spelt", ["-mstress", "-m=stress", "-qm stress", "-vmstress"])
def test_plan_says_when_pytest_addopts_has_the_marker_expression_set_aside(
    tmp_path: Path, spelt: str
) -> None:
    # argparse's ways to give -m, which pytest takes from PYTEST_ADDOPTS as from addopts
    make_project(tmp_path, {"test_marked.py": STRESS_AND_SLOW}, "markers =\n    stress\n    slow\n")
    run = shipline(tmp_path, "plan", env={"PYTEST_ADDOPTS": spelt}, markers="slow")
    assert run.code == 0 and run.outputs["tests"] == "1", run.log
    [notice] = [m for n, _, m in run.annotations if n == "notice"]
    assert notice.startswith("markers 'slow' stands in place of the -m 'stress' "), notice


def test_the_set_aside_expression_is_shown_as_text_in_the_plan_summary(tmp_path: Path) -> None:
    # pytest never reads an expression set aside, so it need not even be one
    ini = "addopts = -m '<h2>passed</h2>'\nmarkers =\n    stress\n    slow\n"
    make_project(tmp_path, {"test_marked.py": STRESS_AND_SLOW}, ini)
    run = shipline(tmp_path, "plan", markers="slow")
    assert run.code == 0 and run.outputs["tests"] == "1", run.log
    assert "the -m '\\<h2>passed\\</h2>' of the project's options" in run.summary
    assert "<h2>" not in run.summary.replace("\\<", ""), run.summary


def test_plan_warns_of_a_register_entry_naming_no_test_of_a_file_it_collects(
    tmp_path: Path,
) -> None:
    source = """\
    import pytest


    def test_kept():
        pass


    @pytest.mark.slow
    def test_other_layer():
        pass


    @pytest.mark.parametrize("n", range(3))
    def test_param(n):
        pass
    """
    make_project(tmp_path, {"test_a.py": source}, "markers = slow\n")
    ids = [
        "tests/test_a.py::test_kept",
        "tests/test_a.py::test_renamed_away",  # line 8: warned
        "tests/test_a.py::test_other_layer",  # deselected here: another layer's
        "tests/test_a.py::test_param[3]",  # line 18: its parameters changed
        "tests/test_gone.py::test_x",  # no file collected here: merge's warning
        "tests/test_a.py::test_param",  # the beginning of ids: merge's warning
    ]
    (tmp_path / "quarantine.yml").write_text(
        "version: 1\ntests:\n"
        + "".join(
            f"  - id: {test}\n    reason: races\n    owner: '@acme/qa'\n"
            "    issue: https://github.com/acme/shop/issues/1\n    expires: 2999-12-31\n"
            for test in ids
        )
    )
    run = shipline(tmp_path, "plan", markers="not slow", quarantine="quarantine.yml")
    assert run.code == 0 and run.outputs["tests"] == "4", run.log
    warned = [(p.get("line"), m) for n, p, m in run.annotations if n == "warning"]
    assert [line for line, _ in warned] == ["8", "18"], run.log
    assert warned[0][1].startswith(
        "tests/test_a.py::test_renamed_away is no test that pytest collects from "
        "tests/test_a.py (deselected ones counted in): was it renamed or deleted"
    )
    # a cell on another OS (or Python) may collect tests this one does not: nothing to judge by
    # (the one cell's OS is another than the plan's, or not known)
    for oses in ("ubuntu-24.04,macos-15", "macos-15", "self-hosted"):
        other = shipline(tmp_path, "plan", markers="not slow", quarantine="quarantine.yml", os=oses)
        assert other.code == 0 and other.outputs["tests"] == "4", other.log
        assert not [m for n, _, m in other.annotations if n == "warning"], other.log
    newer = f"3.{sys.version_info.minor + 1}"  # a cell on a Python other than the plan's
    on_newer = shipline(
        tmp_path, "plan", markers="not slow", quarantine="quarantine.yml", python_versions=newer
    )
    assert on_newer.code == 0 and on_newer.outputs["python-versions"] == f'["{newer}"]'
    assert not [m for n, _, m in on_newer.annotations if n == "warning"], on_newer.log


def test_plan_still_applies_markers_and_reports_an_empty_selection(tmp_path: Path) -> None:
    marked = TWELVE_TESTS.replace("def test_two", "@pytest.mark.slow\ndef test_two")
    make_project(tmp_path, {"test_many.py": marked}, "markers = slow\n")
    run = shipline(tmp_path, "plan", markers="slow")
    assert run.code == 0 and run.outputs["tests"] == "6", run.log
    empty = shipline(tmp_path, "plan", markers="slow and not slow")
    assert empty.code == 1 and "collected no tests" in error(empty)


@needs_process_groups
@pytest.mark.parametrize(
    ("args", "running"),
    [("-s", ""), ("-s -v", "; it was running tests/test_cli.py::test_cli_hangs")],
)
def test_the_timeout_bounds_a_run_whose_test_s_child_holds_the_output(
    tmp_path: Path, args: str, running: str
) -> None:
    torn_down = tmp_path / "torn-down"
    hangs = f"""\
        import pathlib, subprocess, sys

        import pytest


        @pytest.fixture
        def database():
            yield
            pathlib.Path({str(torn_down)!r}).touch()
            print("the database is torn down")


        def test_cli_hangs(database):
            subprocess.run([{sys.executable!r}, "-c", "import time; time.sleep(60)"])
        """
    make_project(tmp_path, {"test_cli.py": hangs})
    started = time.monotonic()
    run = shipline(tmp_path, "run", timeout="3s", args=args)
    assert time.monotonic() - started < 20, run.log
    assert run.code == 1 and error(run) == f"pytest did not finish within 3 s{running}"
    # interrupted first: pytest tore its fixtures down, and said where it was
    assert torn_down.exists()
    assert "KeyboardInterrupt" in run.log


def test_reruns_get_what_the_first_run_left_of_the_timeout(tmp_path: Path) -> None:
    # fails at once, then hangs on its rerun: a timeout per pytest run would let the shard run
    # for twice the timeout, past a job's timeout-minutes that holds it once
    marker = tmp_path / "failed-once"
    hangs_on_rerun = f"""\
        import pathlib, time


        def test_then_hangs():
            marker = pathlib.Path({str(marker)!r})
            if marker.exists():
                time.sleep(60)
            marker.touch()
            assert False
        """
    make_project(tmp_path, {"test_rerun.py": hangs_on_rerun})
    run = shipline(tmp_path, "run", timeout="12s", reruns="2")
    assert run.code == 1, run.log
    said = error(run)
    assert said.startswith("rerun 1, in the ") and " s left of timeout 12s: pytest did not " in said
    left = said.removeprefix("rerun 1, in the ").split(" ", 1)[0]
    assert 5 <= float(left) < 12 and said.endswith(f"did not finish within {left} s")


def test_no_rerun_starts_when_the_first_run_left_too_little_of_the_timeout(tmp_path: Path) -> None:
    slow_and_failing = """\
        import time


        def test_slow():
            time.sleep(5)


        def test_fails():
            assert False
        """
    make_project(tmp_path, {"test_slow.py": slow_and_failing})
    run = shipline(tmp_path, "run", timeout="9s", reruns="2")
    assert run.code == 1 and run.outputs["failed"] == "1", run.log
    (warning,) = [message for name, _, message in run.annotations if name == "warning"]
    assert warning.startswith("only ") and warning.endswith(
        " s left of timeout 9s, under the 5 s a rerun needs: 1 failing test(s) not rerun, "
        "their failures stand"
    )
    assert f"⚠️ {warning[0].upper()}{warning[1:]}." in run.summary
    assert not list((tmp_path / "test-results").glob("*rerun*"))


@needs_process_groups
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_lets_pytest_tear_its_fixtures_down(
    tmp_path: Path, stop: signal.Signals
) -> None:
    started, torn_down = tmp_path / "started", tmp_path / "torn-down"
    slow = f"""\
        import pathlib, time

        import pytest


        @pytest.fixture
        def database():
            yield
            pathlib.Path({str(torn_down)!r}).touch()
            print("the database is torn down")


        def test_slow(database):
            pathlib.Path({str(started)!r}).touch()
            time.sleep(60)
        """
    make_project(tmp_path, {"test_slow.py": slow})
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    command = [sys.executable, "-m", "shipline", "test-matrix", "run", "--path", "proj"]
    command += ["--python", sys.executable, "--shards", "1", "--shard", "1", "--args=-s"]
    # as a terminal's Ctrl-C reaches the command (which Python may have been told to ignore)
    shipline_run = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert started.exists()
        shipline_run.send_signal(stop)
        output, _ = shipline_run.communicate(timeout=20)
    finally:
        shipline_run.kill()
    assert shipline_run.returncode == 130, output
    assert torn_down.exists(), output
    # what pytest printed while it stopped is in the log: the teardown, and where it stopped
    assert "the database is torn down" in output
    assert "KeyboardInterrupt" in output and "test_slow.py:" in output


@needs_process_groups
def test_a_server_a_test_left_running_neither_holds_the_job_nor_outlives_it(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "server.pid"
    leaks = f"""\
        import subprocess, sys

        def test_starts_a_server():
            subprocess.Popen([{sys.executable!r}, "-c", {long_lived_child(pid_file)!r}])
        """
    make_project(tmp_path, {"test_server.py": leaks})
    started = time.monotonic()
    run = shipline(tmp_path, "run", timeout="120s", args="-s")
    assert time.monotonic() - started < 45, run.log  # not the server's 60 s
    assert run.code == 0, run.log
    assert ended(pid_file)


SEGFAULTS = """\
import ctypes


def test_fine():
    pass


def test_crashes():
    ctypes.string_at(0)
"""


def test_a_crash_names_the_signal_and_the_test(tmp_path: Path) -> None:
    make_project(tmp_path, {"test_c.py": SEGFAULTS})
    run = shipline(tmp_path, "run")
    assert run.code == 1
    assert error(run) == "pytest was killed by SIGSEGV in test_crashes at tests/test_c.py:9"
    quiet = shipline(tmp_path, "run", args="-v -p no:faulthandler")
    assert quiet.code == 1
    assert error(quiet) == (
        "pytest was killed by SIGSEGV while running tests/test_c.py::test_crashes"
    )


def test_a_test_that_ends_the_interpreter_is_named_as_the_likely_cause(tmp_path: Path) -> None:
    make_project(tmp_path, {"test_c.py": "import os\n\ndef test_exits():\n    os._exit(0)\n"})
    run = shipline(tmp_path, "run", args="-v")
    assert run.code == 1
    assert error(run) == (
        "pytest exited with code 0 without writing its JUnit report (did a test call "
        "os._exit?); the last test it started: tests/test_c.py::test_exits"
    )


@pytest.mark.parametrize("mode", ["plan", "run"])
def test_options_pytest_refuses_are_bad_input_naming_the_inputs(tmp_path: Path, mode: str) -> None:
    make_project(tmp_path, {"test_many.py": TWELVE_TESTS})
    run = shipline(tmp_path, mode, markers="unit and")
    assert run.code == 2, run.log
    message = error(run)
    assert message.startswith("pytest refused its options (exit code 4): ERROR: Wrong expression")
    assert "'markers', 'args'" in message
    assert not list(tmp_path.rglob("test-results"))  # bad input leaves nothing behind
    bogus = shipline(tmp_path, mode, args="--no-such-option")
    assert bogus.code == 2
    assert "unrecognized arguments: --no-such-option" in error(bogus)


BROKEN_CONFTESTS = {
    "missing dependency": (
        "import os\nimport some_missing_dependency\n",
        "tests/conftest.py:2: ModuleNotFoundError: No module named 'some_missing_dependency'",
    ),
    "syntax error": ("def broken(:\n    pass\n", "tests/conftest.py:1: SyntaxError: "),
    "any exception": (
        "raise RuntimeError('no database configured')\n",
        "tests/conftest.py:1: RuntimeError: no database configured",
    ),
    # raised inside a hook, before pytest can report it: Python's own traceback
    "an option pytest already has": (
        "def pytest_addoption(parser):\n    parser.addoption('--maxfail')\n",
        "tests/conftest.py:2: ValueError: option dest 'maxfail' already used",
    ),
    "a hook's error over two lines": (
        "def pytest_addoption(parser):\n"
        "    raise RuntimeError('cannot reach db\\n(Background on this error at: ...)')\n",
        "tests/conftest.py:2: RuntimeError: cannot reach db",
    ),
}


@pytest.mark.parametrize("mode", ["plan", "run"])
@pytest.mark.parametrize("broken", BROKEN_CONFTESTS, ids=list(BROKEN_CONFTESTS))
def test_a_conftest_that_fails_to_load_is_a_failed_run_naming_it_not_bad_input(
    tmp_path: Path, mode: str, broken: str
) -> None:
    source, expected = BROKEN_CONFTESTS[broken]
    make_project(tmp_path, {"test_many.py": TWELVE_TESTS, "conftest.py": source})
    run = shipline(tmp_path, mode)
    assert run.code == 1, run.log
    assert error(run).startswith(f"pytest could not load {expected}")


@pytest.mark.parametrize(("code", "meaning"), [(5, "no tests"), (4, "usage error")])
def test_exit_code_5_or_4_from_a_shard_with_tests_is_a_failed_run_not_bad_input(
    tmp_path: Path, code: int, meaning: str
) -> None:
    # the options were accepted: the plugin had chosen the tests when a test asked for the code
    stops = f"import pytest\n\ndef test_a():\n    pass\n\ndef test_b():\n    pytest.exit('bye', {code})\n"
    make_project(tmp_path, {"test_stop.py": stops})
    run = shipline(tmp_path, "run")
    assert run.code == 1
    message = error(run)
    assert message.startswith(
        f"pytest stopped with exit code {code} ({meaning}) after selecting 2 test(s) for this "
        f"shard: did a test or conftest call pytest.exit(returncode={code})?"
    )
    assert "re-plan" not in message


# A plugin that deselects after every other plugin's hook, shipline's included, as pytest's
# own --lf does.
DESELECTS_LAST = """\
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(config, items):
    yield
    dropped = [item for item in items if "test_one" in item.nodeid]
    items[:] = [item for item in items if item not in dropped]
    config.hook.pytest_deselected(items=dropped)
"""


@pytest.mark.parametrize("args", ["", "-n 2"], ids=["", "xdist"])
def test_tests_a_plugin_deselects_after_shipline_are_neither_counted_nor_missed(
    tmp_path: Path, args: str
) -> None:
    make_project(tmp_path, {"test_many.py": TWELVE_TESTS, "conftest.py": DESELECTS_LAST})
    plan = shipline(tmp_path, "plan", shards="2", args=args)
    assert plan.code == 0 and plan.outputs["tests"] == "6", plan.log
    ran = 0
    for shard in ("1", "2"):
        run = shipline(tmp_path, "run", shards="2", shard=shard, args=args, results=shard)
        assert run.code == 0, run.log
        assert "test_one" not in run.log
        ran += int(run.outputs["passed"])
    assert ran == 6


def test_a_shard_whose_whole_share_a_plugin_deselects_late_says_so(tmp_path: Path) -> None:
    # 12 tests in 12 shards: the shard that got a test_one has nothing left to run
    make_project(tmp_path, {"test_many.py": TWELVE_TESTS, "conftest.py": DESELECTS_LAST})
    runs = [shipline(tmp_path, "run", shards="12", shard=str(n)) for n in range(1, 13)]
    late = [error(run) for run in runs if run.code != 0]
    assert len(late) == 6 and all(run.code in (0, 1) for run in runs)
    assert late[0].startswith("shard ") and late[0].endswith(
        "has no tests: a plugin deselected the 1 test(s) shipline chose for it after choosing "
        "them (pytest's --lf does, or a hook wrapper in a conftest): run the shards without it"
    )


@pytest.mark.parametrize("mode", ["plan", "run"])
@pytest.mark.parametrize("args", ["", "--continue-on-collection-errors"])
def test_a_collection_error_is_named_even_when_pytest_runs_past_it(
    tmp_path: Path, mode: str, args: str
) -> None:
    make_project(tmp_path, {"test_ok.py": TWELVE_TESTS, "test_broken.py": "import not_here\n"})
    run = shipline(tmp_path, mode, args=args)
    assert run.code == 1
    message = error(run)
    assert message.startswith("pytest could not collect the tests (exit code ")
    assert message.endswith("tests/test_broken.py: ModuleNotFoundError: No module named 'not_here'")


def test_a_rerun_pytest_refuses_is_a_failed_run_not_bad_input(tmp_path: Path) -> None:
    # the options were fine the first time: the failed test's id changed since
    moving = (
        "import time\n\nimport pytest\n\n\n"
        "@pytest.mark.parametrize('n', [time.time_ns()])\n"
        "def test_moving(n):\n    assert False\n"
    )
    make_project(tmp_path, {"test_moving.py": moving})
    run = shipline(tmp_path, "run", reruns="1")
    assert run.code == 1
    assert error(run).startswith(
        "pytest could not rerun the failed tests (exit code 4): ERROR: not found: "
    )


# pytest-rerunfailures (the real plugin, from the dev environment) in a project's addopts: each
# failed attempt but the last is reported with the outcome "rerun"; a failed subtest fails its
# attempt too
RERUN_TWICE = "addopts = --reruns 2\n"
FLAKY_AND_BROKEN = """\
from pathlib import Path

import pytest


def test_fine():
    pass


def test_passes_on_the_third_attempt():
    tries = Path(__file__).with_name("tries")
    count = int(tries.read_text()) if tries.exists() else 0
    tries.write_text(str(count + 1))
    assert count >= 2, "not yet"


def test_always_fails():
    assert False, "broken"


def test_skipped_on_the_rerun():
    tried = Path(__file__).with_name("tried")
    if tried.exists():
        pytest.skip("no database now")
    tried.touch()
    assert False, "first try"
"""


@pytest.mark.parametrize("args", ["", "-n 2"], ids=["", "xdist"])
def test_a_test_a_rerun_plugin_got_to_pass_is_flaky_and_flaky_fail_blocks(
    tmp_path: Path, args: str
) -> None:
    make_project(tmp_path, {"test_r.py": FLAKY_AND_BROKEN}, ini=RERUN_TWICE)
    run = shipline(tmp_path, "run", args=args, flaky="fail", reruns="0")
    assert run.code == 1, run.log
    counts = [run.outputs[k] for k in ("passed", "flaky", "failed", "skipped")]
    assert counts == ["1", "1", "2", "0"]
    results = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    outcomes = {r["nodeid"].split("::")[1]: (r["outcome"], r["attempts"]) for r in results}
    assert outcomes == {
        "test_always_fails": ("failed", 3),
        "test_fine": ("passed", 1),
        "test_passes_on_the_third_attempt": ("flaky", 3),
        "test_skipped_on_the_rerun": ("failed", 2),  # a skip is no pass, as in shipline's reruns
    }
    (skipped,) = [r["message"] for r in results if "skipped_on" in r["nodeid"]]
    assert skipped.startswith("failed (AssertionError: first try") and "no database now" in skipped
    # placed where the first failure happened, not on the def line the last attempt reports
    places = {r["nodeid"].split("::")[1]: (r["file"], r["line"]) for r in results}
    assert places["test_passes_on_the_third_attempt"] == ("tests/test_r.py", 14)
    assert places["test_skipped_on_the_rerun"] == ("tests/test_r.py", 26)
    flaky = [message for message in run.errors() if "test_passes_on_the_third_attempt" in message]
    assert flaky and "is flaky" in flaky[0] and "not yet" in flaky[0], run.errors()
    # merge's junit.xml agrees: one case a test, not the plugin's empty one per earlier attempt
    assert shipline(tmp_path, "merge").code == 1
    root = ET.parse(tmp_path / "test-results" / "junit.xml").getroot()  # noqa: S314
    counts = [root.get(k) for k in ("tests", "failures", "errors", "skipped")]
    assert counts == ["4", "2", "0", "0"], ET.tostring(root)
    shown = {c.get("name"): [child.tag for child in c] for c in root.iter("testcase")}
    assert shown == {
        "test_fine": [],
        "test_passes_on_the_third_attempt": ["flakyFailure"],
        "test_always_fails": ["failure"],
        "test_skipped_on_the_rerun": ["failure"],
    }


SETUP_ERRORS_ONCE = """\
from pathlib import Path

import pytest


@pytest.fixture
def database():
    tried = Path(__file__).with_name("setup_tried")
    if not tried.exists():
        tried.touch()
        raise ConnectionError("database not up yet")


def test_needs_the_database(database):
    pass
"""


@pytest.mark.parametrize(
    ("ini", "reruns"), [(RERUN_TWICE, "0"), ("", "1")], ids=["rerun-plugin", "shipline"]
)
def test_a_flaky_test_whose_first_try_errored_shows_a_flaky_error_in_merge_junit(
    tmp_path: Path, ini: str, reruns: str
) -> None:
    # JUnit readers tell a setup that failed from a test that did: so does a flaky test's case
    make_project(tmp_path, {"test_db.py": SETUP_ERRORS_ONCE}, ini=ini)
    assert shipline(tmp_path, "run", reruns=reruns).code == 0
    assert shipline(tmp_path, "merge").code == 0
    root = ET.parse(tmp_path / "test-results" / "junit.xml").getroot()  # noqa: S314
    (case,) = root.iter("testcase")
    assert [child.tag for child in case] == ["flakyError"], ET.tostring(root)
    assert "database not up yet" in (case[0].get("message") or "")


# ids by position: a tuple is no id of its own. Python orders a set of tuples of strings by a
# hash seeded anew in each process, unless PYTHONHASHSEED fixes the seed.
OVER_A_SET = """\
import pytest

RECORDS = {(f"user{n}", "active") for n in range(32)}


@pytest.mark.parametrize("record", RECORDS)
def test_record(record):
    assert record[0] != "user7", "user7 is banned"
"""


@pytest.mark.parametrize(
    ("env", "seed"),
    [
        ({}, "0"),
        ({"GITHUB_RUN_ID": "8123456789"}, str(8123456789 % 2**32)),
        ({"PYTHONHASHSEED": "42"}, "42"),
        ({"PYTHONHASHSEED": "random", "GITHUB_RUN_ID": "7"}, "7"),  # a seed of each process's own
        ({"PYTHONHASHSEED": "+07"}, "7"),  # as Python reads it
    ],
    ids=["local", "workflow-run", "set-by-the-user", "random", "signed"],
)
def test_a_test_parametrized_over_a_set_fails_on_each_rerun_as_in_one_pytest_run(
    tmp_path: Path, env: dict[str, str], seed: str
) -> None:
    # under a seed of each process's own, the failing id's rerun took another record, passed,
    # and the always-failing test was reported flaky
    make_project(tmp_path, {"test_set.py": OVER_A_SET})
    run = shipline(tmp_path, "run", env=env, reruns="2")
    assert run.code == 1, run.log
    assert (run.outputs["failed"], run.outputs["flaky"]) == ("1", "0"), run.log
    assert f"pytest ran with `PYTHONHASHSEED={seed}`." in run.summary  # no pytest-randomly


def test_the_plan_names_the_hash_seed_it_collected_with(tmp_path: Path) -> None:
    # the ids by position it planned are those of this seed: a shard run by hand must set it
    make_project(tmp_path, {"test_set.py": OVER_A_SET})
    run = shipline(tmp_path, "plan", env={"GITHUB_RUN_ID": "4294967303"}, shards="2")
    assert run.code == 0 and run.outputs["tests"] == "32", run.log
    assert "pytest collected with `PYTHONHASHSEED=7`" in run.summary


FLAKY_AND_BROKEN_HERE = """\
from pathlib import Path


def test_flaky():
    tried = Path(__file__).with_name("tried")
    if not tried.exists():
        tried.touch()
        assert False, "first try"


def test_broken():
    assert False, "always"
"""


# importable in the shard's first run only, after which test_flaky left its mark
TRAP = """\
from pathlib import Path

if (Path(__file__).parent / "tried").exists():
    raise ImportError("a module of no failing test imported again")


def test_ok():
    pass
"""


def test_a_failed_test_in_a_file_or_directory_named_with_a_bracket_is_rerun(
    tmp_path: Path,
) -> None:
    # pytest refuses such a path on its command line ("path cannot contain []
    # parametrization"): the rerun names the directory above it, and the plugin runs the ids
    # alone, importing no other module there
    make_project(
        tmp_path,
        {
            "test_b[1].py": FLAKY_AND_BROKEN_HERE,
            "test_trap.py": TRAP,
            "test_c.py": "def test_also_broken():\n    assert False\n",
        },
    )
    nested = tmp_path / "proj" / "tests" / "case[2]"
    nested.mkdir()
    (nested / "test_in.py").write_text(FLAKY_AND_BROKEN_HERE.replace('"tried"', '"tried_in"'))
    run = shipline(tmp_path, "run", reruns="1")
    assert run.code == 1, run.log
    counts = [run.outputs[k] for k in ("passed", "failed", "flaky")]
    assert counts == ["1", "3", "2"], run.log
    assert any("test_b[1].py::test_broken" in e and "always" in e for e in run.errors()), run.log
    rerun = ET.parse(tmp_path / "test-results" / "shard-1of1-rerun1.xml").getroot()  # noqa: S314
    rerun_ids = sorted(f"{c.get('classname')}.{c.get('name')}" for c in rerun.iter("testcase"))
    assert rerun_ids == [
        "tests.case[2].test_in.test_broken",
        "tests.case[2].test_in.test_flaky",
        "tests.test_b[1].test_broken",
        "tests.test_b[1].test_flaky",
        "tests.test_c.test_also_broken",
    ]


# pytest-randomly's contract (5.1.0, checked by hand against the real plugin): an option
# --randomly-seed (dest randomly_seed) whose default "default" means a seed of each process's
# own, read in its pytest_configure, which seeds random with it
LIKE_PYTEST_RANDOMLY = """\
import random


def pytest_addoption(parser):
    parser.addoption("--randomly-seed", dest="randomly_seed", default="default")


def pytest_configure(config):
    seed = config.getoption("randomly_seed")
    random.seed(None if seed == "default" else int(seed))
"""
SHUFFLED_AT_IMPORT = """\
import random

import pytest

USERS = [(f"user{n}", "active") for n in range(32)]


@pytest.mark.parametrize("user", random.sample(USERS, len(USERS)))
def test_user(user):
    assert user[0] != "user7", "user7 is banned"
"""


def test_pytest_randomly_gets_the_hash_seed_so_a_rerun_draws_the_same(tmp_path: Path) -> None:
    # a seed of each process's own gave the failing id another user on its rerun: flaky (the
    # one module here draws first; after another module's draws a rerun differs, see README)
    make_project(
        tmp_path, {"conftest.py": LIKE_PYTEST_RANDOMLY, "test_users.py": SHUFFLED_AT_IMPORT}
    )
    run = shipline(tmp_path, "run", env={"GITHUB_RUN_ID": "31"}, reruns="2")
    assert run.code == 1, run.log
    assert (run.outputs["failed"], run.outputs["flaky"]) == ("1", "0"), run.log
    assert "pytest ran with `PYTHONHASHSEED=31`, `--randomly-seed=31`." in run.summary


# two tests under one node id, as a plugin's collector (or pytest 7's parametrize ids) can make
TWO_CHECKS_ONE_ID = """\
import pytest


class Check(pytest.Item):
    def __init__(self, *, ok, **kwargs):
        super().__init__(**kwargs)
        self.ok = ok

    def runtest(self):
        assert self.ok, "the second check fails"

    def reportinfo(self):
        return self.path, 0, self.name


class Checks(pytest.File):
    def collect(self):
        yield Check.from_parent(self, name="check", ok=True)
        yield Check.from_parent(self, name="check", ok=False)


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".chk":
        return Checks.from_parent(parent, path=file_path)
"""


def test_a_rerun_runs_every_test_of_a_shared_id(tmp_path: Path) -> None:
    # which of the two failed is not known to the rerun: keeping one would pass the passing one
    make_project(tmp_path, {"conftest.py": TWO_CHECKS_ONE_ID, "a.chk": ""})
    run = shipline(tmp_path, "run", reruns="1")
    assert run.code == 1, run.log
    assert (run.outputs["failed"], run.outputs["flaky"]) == ("1", "0"), run.log


DESELECTED_ON_RERUN = """\
from pathlib import Path


def pytest_collection_modifyitems(config, items):
    tried = Path(__file__).parent / "tried"
    if tried.exists():
        deselected = [item for item in items if item.name == "test_broken"]
        items[:] = [item for item in items if item.name != "test_broken"]
        config.hook.pytest_deselected(items=deselected)
    tried.touch()
"""


def test_a_failing_test_a_rerun_did_not_run_keeps_its_failure_and_says_so(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {"conftest.py": DESELECTED_ON_RERUN, "test_x.py": "def test_broken():\n    assert False\n"},
    )
    run = shipline(tmp_path, "run", reruns="2")
    assert run.code == 1 and run.outputs["failed"] == "1", run.log
    said = (
        "rerun 1 did not run 1 of the failing test(s) it named "
        "(first: tests/test_x.py::test_broken)"
    )
    warnings = [message for name, _, message in run.commands if name == "warning"]
    assert any(said in w for w in warnings), run.log
    assert f"⚠️ R{said[1:]}: not rerun, their failures stand." in run.summary
    assert not (tmp_path / "test-results" / "shard-1of1-rerun2.xml").exists()  # nor again


def test_doctests_of_files_whose_names_hold_a_bracket_are_read_from_junit(tmp_path: Path) -> None:
    # pytest 9.2 names their cases "notes[1].txt]" and "test_d[x].twice]" in its JUnit XML
    module = '"""\n>>> 1 + 1\n2\n"""\n\n\ndef twice(n):\n    """\n    >>> twice(2)\n    5\n    """\n    return 2 * n\n'
    make_project(
        tmp_path,
        {"test_d[x].py": module, "notes[1].txt": ">>> 1\n1\n"},
        ini="addopts = --doctest-modules --doctest-glob=*.txt\n",
    )
    run = shipline(tmp_path, "run", reruns="0")
    assert run.code == 1, run.log
    assert [run.outputs[k] for k in ("passed", "failed")] == ["2", "1"], run.log
    failure = error(run)
    assert failure.startswith("tests/test_d[x].py::test_d[x].twice failed"), run.log


PASSES_ON_THE_FIFTH_ATTEMPT = """\
from pathlib import Path


def test_passes_on_the_fifth_attempt():
    tries = Path(__file__).with_name("fifth_tries")
    count = int(tries.read_text()) if tries.exists() else 0
    tries.write_text(str(count + 1))
    assert count >= 4, "not yet"
"""


def test_shipline_s_reruns_add_to_the_attempts_a_rerun_plugin_made(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "test_r.py": FLAKY_AND_BROKEN,
            "test_fifth.py": PASSES_ON_THE_FIFTH_ATTEMPT,
        },
        ini=RERUN_TWICE,
    )
    run = shipline(tmp_path, "run", reruns="1")
    assert run.code == 1, run.log
    results = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    outcomes = {r["nodeid"].split("::")[1]: (r["outcome"], r["attempts"]) for r in results}
    # 3 attempts in the first run (the plugin's), 3 more in shipline's rerun round, where the
    # plugin runs too
    assert outcomes["test_always_fails"] == ("failed", 6)
    # failed 3 times, then failed once more and passed in the round: a pass, so flaky
    assert outcomes["test_passes_on_the_fifth_attempt"] == ("flaky", 5)
    # shown with its first failure, not the last of the plugin's attempts in the shard's run
    (fifth,) = [r for r in results if "fifth" in r["nodeid"]]
    assert "assert 0 >= 4" in fifth["message"], fifth["message"]


SETUP_ERROR_THEN_SKIPPED = """\
from pathlib import Path

import pytest


@pytest.fixture
def database():
    tried = Path(__file__).with_name("tried")
    if tried.exists():
        pytest.skip("no database now")
    tried.touch()
    raise ConnectionError("refused")


def test_uses_the_database(database):
    pass
"""


def test_a_setup_error_then_a_skip_on_the_plugin_s_rerun_is_an_error(tmp_path: Path) -> None:
    make_project(tmp_path, {"test_db.py": SETUP_ERROR_THEN_SKIPPED}, ini=RERUN_TWICE)
    run = shipline(tmp_path, "run", reruns="0")
    assert run.code == 1, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    assert (result["outcome"], result["attempts"]) == ("error", 2)
    assert result["message"].startswith("errored (ConnectionError: refused")
    assert "then skipped on a rerun" in result["message"]


def test_rerunfailures_fail_on_flaky_exit_code_is_named(tmp_path: Path) -> None:
    # pytest-rerunfailures' --fail-on-flaky ends a run with a flaky test with exit code 7
    make_project(
        tmp_path,
        {"test_r.py": PASSES_ON_THE_FIFTH_ATTEMPT},
        ini="addopts = --reruns 4 --fail-on-flaky\n",
    )
    run = shipline(tmp_path, "run")
    assert run.code == 1, run.log
    assert error(run).startswith(
        "pytest exited with code 7: pytest-rerunfailures' --fail-on-flaky (in args or the "
        "project's addopts) failed the run"
    )


def test_a_traceback_a_conftest_logged_does_not_make_errors_conftest_failures(
    tmp_path: Path,
) -> None:
    # a handled exception, logged with its traceback while pytest configures: pytest goes on
    logged = (
        "import traceback\n\n\ndef pytest_configure(config):\n    try:\n"
        "        import some_optional_plugin\n    except ImportError:\n"
        "        traceback.print_exc()\n\n\ndef load_cases():\n"
        "    raise FileNotFoundError('cases.json')\n"
    )
    broken_module = "from conftest import load_cases\n\nCASES = load_cases()\n"
    make_project(tmp_path, {"conftest.py": logged, "test_many.py": TWELVE_TESTS})
    refused = shipline(tmp_path, "plan", markers="unit and")
    assert refused.code == 2, refused.log
    assert error(refused).startswith("pytest refused its options (exit code 4)")
    (tmp_path / "proj" / "tests" / "test_cases.py").write_text(broken_module)
    for mode in ("plan", "run"):
        uncollected = shipline(tmp_path, mode, args="--tb=native -x")
        assert uncollected.code == 1, uncollected.log
        # -x stops the collection at the error, before shipline's plugin answers
        assert error(uncollected).startswith("pytest could not collect the tests (exit code 1)")
        assert "tests/test_cases.py" in error(uncollected), uncollected.log


TWO_TESTS = """\
import time

import pytest


@pytest.fixture
def slow_setup():
    time.sleep(0.3)


def test_passes(slow_setup):
    pass


def test_fails():
    assert 1 == 2, "not two"


class TestInAClass:
    def test_method(self):
        pass
"""


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ("--setup-plan", "--setup-plan"),  # every test would read as passed
        ("--sw", "--sw/--stepwise"),  # stops at the first failure, skips on the next run
        ("--pdb", "--pdb"),
        ("--collect-only", "--collect-only"),
        ("-p no:junitxml", "-p no:junitxml"),
        ("--cache-show", "--cache-show"),
    ],
)
def test_options_under_which_pytest_does_not_run_each_test_are_refused(
    tmp_path: Path, options: str, named: str
) -> None:
    make_project(tmp_path, {"test_two.py": TWO_TESTS}, ini=f"addopts = {options}\n")
    for mode in ("plan", "run") if options != "--collect-only" else ("run",):
        refused = shipline(tmp_path, mode)
        assert refused.code == 2, refused.log
        assert f"leave out {named} (in args or the project's addopts)" in error(refused)


def test_an_option_under_which_pytest_ends_well_without_collecting_is_bad_input(
    tmp_path: Path,
) -> None:
    # pytest answers --version and --help before it configures the plugin, which cannot
    # refuse them; a conftest's hook may end the session as well
    conftest = (
        "import os\n\nimport pytest\n\n\ndef pytest_sessionstart(session):\n"
        "    if os.path.exists('no-db'):\n        pytest.exit('no database here', returncode=0)\n"
    )
    make_project(tmp_path, {"test_two.py": TWO_TESTS, "conftest.py": conftest})
    for mode, option, printed in (
        ("plan", "--version", f"pytest {pytest.__version__}"),
        ("run", "--version", f"pytest {pytest.__version__}"),
        ("run", "--help", "to see available fixtures type: pytest --fixtures"),
        ("run", "", "no database here"),
    ):
        if not option:
            (tmp_path / "proj" / "no-db").touch()
        refused = shipline(tmp_path, mode, args=option)
        assert refused.code == 2, refused.log
        said = error(refused)
        assert said.startswith(
            "pytest ended (exit code 0) without collecting the tests: an option in the input "
            "'args' or the project's addopts made it do something else (--version, --help, a "
            "plugin's own command), or a conftest or plugin called pytest.exit(); it printed: "
        ), said
        assert printed in said, said
    assert not (tmp_path / "test-results").exists()


ADDS_A_TEST_FROM_ELSEWHERE_LATE = """\
from pathlib import Path

import pytest


def pytest_collection_finish(session):
    outside = Path(__file__).resolve().parents[2] / "elsewhere" / "test_far.py"
    session.items.extend(pytest.Module.from_parent(session, path=outside).collect())
"""


def test_a_test_from_outside_the_project_a_plugin_adds_late_is_refused_too(tmp_path: Path) -> None:
    # after the shard plugin chose its share: the test would run under an id ("::test_far.py::
    # test_far") that no rerun finds
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "test_far.py").write_text("def test_far():\n    assert False\n")
    make_project(
        tmp_path, {"test_two.py": TWO_TESTS, "conftest.py": ADDS_A_TEST_FROM_ELSEWHERE_LATE}
    )
    run = shipline(tmp_path, "run", reruns="1")
    assert run.code == 2, run.log
    assert error(run).startswith(
        f"pytest collected tests outside {tmp_path / 'proj'} (the rootdir: the path input): "
        f"{tmp_path / 'elsewhere' / 'test_far.py'}; "
    )
    assert "test_fails" not in run.log  # refused before any test ran


def test_shipline_s_junit_options_come_after_the_project_s(tmp_path: Path) -> None:
    make_project(tmp_path, {"test_two.py": TWO_TESTS}, ini="addopts = --junit-prefix=ci\n")
    args = "--junit-xml=elsewhere.xml -o junit_duration_report=call -o junit_family=xunit2"
    run = shipline(tmp_path, "run", args=args)
    assert run.code == 1, run.log
    report = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())
    seconds = {r["nodeid"].split("::")[1]: r["seconds"] for r in report["results"]}
    assert seconds["test_passes"] >= 0.3  # its fixture's time counts (duration report total)
    places = {r["nodeid"].split("::")[1]: r["line"] for r in report["results"]}
    assert places["test_fails"] == 16  # xunit1 places it, on the failing line
    # no prefix on the class's name: its test is found in the report
    outcomes = {r["nodeid"]: r["outcome"] for r in report["results"]}
    assert outcomes["tests/test_two.py::TestInAClass::test_method"] == "passed"
    (said,) = [m for level, _, m in run.annotations if level == "warning"]
    assert said.startswith("args: shipline's own --junitxml comes after yours and wins")


SUBTESTS = """\
import unittest

import pytest


def test_one_subtest_skipped(subtests):
    for n in range(2):
        with subtests.test(n=n):
            if n == 1:
                pytest.skip("not on this platform")


class TestCase(unittest.TestCase):
    def test_one_unittest_subtest_skipped(self):
        for n in range(2):
            with self.subTest(n=n):
                if n == 1:
                    self.skipTest("not here")


def test_skipped_itself():
    pytest.skip("whole test")


@pytest.mark.xfail(reason="known bug")
def test_expected_to_fail():
    assert False
"""


@pytest.mark.parametrize("args", ["", "-n 2"], ids=["", "xdist"])
def test_a_skipped_subtest_does_not_make_its_test_skipped(tmp_path: Path, args: str) -> None:
    # pytest's JUnit writes the subtest's skip into the test's case (pytest 9 subtests)
    make_project(tmp_path, {"test_sub.py": SUBTESTS})
    run = shipline(tmp_path, "run", args=args)
    assert run.code == 0, run.log
    results = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    outcomes = {r["nodeid"].rsplit("::")[-1]: r["outcome"] for r in results}
    assert outcomes == {
        "test_one_subtest_skipped": "passed",
        "test_one_unittest_subtest_skipped": "passed",
        "test_skipped_itself": "skipped",
        "test_expected_to_fail": "skipped",  # xfailed, counted with the skipped
    }
    assert [run.outputs[k] for k in ("passed", "skipped")] == ["2", "2"]


XFAILS = """\
import pytest


@pytest.mark.xfail(reason="known bug")
def test_xfailed():
    assert False


@pytest.mark.xfail(run=False, reason="hangs")
def test_xfailed_unrun():
    pass


@pytest.mark.xfail(reason="fixed since")
def test_xpassed():
    pass


@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpassed_strictly():
    pass


def test_skipped():
    pytest.skip("not here")


def test_passed():
    pass
"""


@pytest.mark.parametrize("args", ["", "-n 2"], ids=["", "xdist"])
def test_xfailed_and_xpassed_tests_are_counted_apart_as_pytest_s_last_line_does(
    tmp_path: Path, args: str
) -> None:
    # pytest: 1 failed, 2 passed, 1 skipped, 2 xfailed, 1 xpassed (JUnit: an xpass is a pass)
    make_project(tmp_path, {"test_xfail.py": XFAILS})
    run = shipline(tmp_path, "run", args=args, reruns="0")
    assert run.code == 1, run.log
    said = "6 tests: 2 passed (xpassed: 1), 1 failed, 0 flaky, 3 skipped (xfailed: 2), 0 q"
    assert said in run.summary.replace("**", ""), run.summary
    results = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    xfail = {r["nodeid"].rsplit("::")[-1] for r in results if r["xfail"]}
    assert xfail == {"test_xfailed", "test_xfailed_unrun", "test_xpassed"}, results


@pytest.mark.parametrize("args", ["", "-n 2"], ids=["", "xdist"])
def test_times_are_kept_to_the_microsecond_not_junit_s_millisecond(
    tmp_path: Path, args: str
) -> None:
    make_project(tmp_path, {"test_many.py": TWELVE_TESTS})
    run = shipline(tmp_path, "run", args=args)
    assert run.code == 0, run.log
    results = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    report = tmp_path / "test-results" / "shard-1of1.xml"
    junit = ET.parse(report).getroot()  # noqa: S314 - pytest wrote it
    rounded = {case.get("name"): float(case.get("time", "")) for case in junit.iter("testcase")}
    seconds = {r["nodeid"].rsplit("::")[-1]: r["seconds"] for r in results}
    assert len(seconds) == 12 and all(s > 0 for s in seconds.values()), seconds
    # JUnit's time of the same test, rounded to the millisecond: under 1 ms reads as 0.000
    assert all(abs(seconds[name] - rounded[name]) <= 0.0005 + 1e-9 for name in seconds)
    assert any(s != round(s, 3) for s in seconds.values()), seconds


SLEEPING_SUBTESTS = """\
import time


def test_three_subtests(subtests):
    for n in range(3):
        with subtests.test(n=n):
            time.sleep(0.2)
"""


def test_a_subtest_s_time_is_not_counted_again_beside_its_test_s(tmp_path: Path) -> None:
    # pytest's JUnit adds each subtest's time to the call that holds it: about twice the time
    make_project(tmp_path, {"test_slow_subtests.py": SLEEPING_SUBTESTS})
    run = shipline(tmp_path, "run")
    assert run.code == 0, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    report = tmp_path / "test-results" / "shard-1of1.xml"
    (case,) = ET.parse(report).getroot().iter("testcase")  # noqa: S314 - pytest wrote it
    assert result["seconds"] < 0.75 * float(case.get("time", "")), (result, case.attrib)


def one_test_under_a_rerun_plugin(
    tmp_path: Path, test: str, args: str = ""
) -> tuple[ActionRun, dict[str, Any]]:
    """A shard of one test module, run under pytest-rerunfailures (and no reruns of
    shipline's), and the result of its one test."""
    make_project(tmp_path, {"test_one.py": test}, ini=RERUN_TWICE)
    run = shipline(tmp_path, "run", args=args, reruns="0")
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    return run, result


BROKEN_ON_ONE_WORKER = """\
import os
import time


def test_broken_on_gw1():
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw1":
        assert False, "broken on gw1"
    time.sleep(1)  # the passing run ends last
"""


def test_a_test_that_fails_on_one_worker_of_dist_each_is_failed_not_flaky(
    tmp_path: Path,
) -> None:
    # --dist each: every worker runs every test (one per interpreter, say); a rerun plugin
    # reruns the failing one, and the other worker's passing run ends after its last attempt
    run, result = one_test_under_a_rerun_plugin(tmp_path, BROKEN_ON_ONE_WORKER, "-n 2 --dist each")
    assert run.code == 1 and result["outcome"] == "failed", (result, run.log)


SKIPPED_ON_ONE_WORKER_FLAKY_ON_THE_OTHER = """\
import os
from pathlib import Path

import pytest


@pytest.mark.skipif(os.environ.get("PYTEST_XDIST_WORKER") == "gw0", reason="not on gw0")
def test_flaky():
    tried = Path(__file__).with_name("tried")
    if not tried.exists():
        tried.touch()
        assert False, "flaky on gw1"
"""
FLAKY_ON_EACH_WORKER = """\
import os
from pathlib import Path


def test_flaky():
    tried = Path(__file__).with_name("tried-" + os.environ["PYTEST_XDIST_WORKER"])
    if not tried.exists():
        tried.touch()
        assert False, "flaky on gw1"
"""


@pytest.mark.parametrize(
    "test",
    [SKIPPED_ON_ONE_WORKER_FLAKY_ON_THE_OTHER, FLAKY_ON_EACH_WORKER],
    ids=["skipped-on-gw0", "on-each"],
)
def test_a_test_flaky_on_workers_of_dist_each_is_flaky_after_one_rerun(
    tmp_path: Path, test: str
) -> None:
    # a skip on gw0 follows no failure there: no "failed, then skipped on a rerun"; and each
    # worker's one rerun is one rerun, not one per worker
    run, result = one_test_under_a_rerun_plugin(tmp_path, test, "-n 2 --dist each")
    assert run.code == 0, run.log
    assert (result["outcome"], result["attempts"]) == ("flaky", 2), result


CRASHES_ONE_WORKER = """\
import os
from pathlib import Path


def test_crashes_gw1_and_is_flaky_on_gw0():
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw1":
        os._exit(3)
    tried = Path(__file__).with_name("tried")
    if not tried.exists():
        tried.touch()
        assert False, "flaky on gw0"
"""


def test_a_test_that_crashed_a_worker_of_dist_each_is_not_flaky_for_another_s_pass(
    tmp_path: Path,
) -> None:
    # xdist reports the crash itself, with no worker and no teardown; pytest counts it failed
    run, result = one_test_under_a_rerun_plugin(tmp_path, CRASHES_ONE_WORKER, "-n 2 --dist each")
    assert run.code == 1 and result["outcome"] == "failed", (result, run.log)
    # gw0's first failure, then the crash that failed the test for good
    crash = r"; then worker 'gw1' crashed while running '\S+'"
    assert re.fullmatch(f"AssertionError: flaky on gw0\n.*{crash}", result["message"]), result


@pytest.mark.parametrize("crashes", ["gw0", "gw1"])
def test_a_crash_on_one_worker_of_dist_each_and_a_fixture_error_on_another_is_an_error(
    tmp_path: Path, crashes: str
) -> None:
    # pytest counts "1 failed, 1 error"; as for a failure and an error, the error is the verdict,
    # whichever worker reported first
    test = f"""\
        import os

        import pytest

        WORKER = os.environ.get("PYTEST_XDIST_WORKER")


        @pytest.fixture
        def database():
            if WORKER != "{crashes}":
                raise ConnectionError("refused on " + WORKER)


        def test_each(database):
            os._exit(3)
        """
    make_project(tmp_path, {"test_e.py": test})
    run = shipline(tmp_path, "run", args="-n 2 --dist each", reruns="0")
    assert run.code == 1, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    assert result["outcome"] == "error", result
    assert f"worker '{crashes}' crashed while running" in result["message"], result
    assert "ConnectionError: refused on gw" in result["message"], result


# pytest-rerunfailures tells its controller how often a test may run again without waiting for
# an answer: a worker that crashes at once may be gone first, and then the test is not run
# again (pytest says so too). A second is plenty for it, also on a loaded machine.
CRASH_AFTER_A_SECOND = "time.sleep(1)\n        os._exit(3)"
CRASHES_ITS_WORKER_ONCE = f"""\
import os
import time
from pathlib import Path


def test_crashes_its_worker_once():
    tried = Path(__file__).with_name("tried")
    if not tried.exists():
        tried.touch()
        {CRASH_AFTER_A_SECOND}
"""


@pytest.mark.parametrize(
    ("then", "outcome", "code"),
    [("", "flaky", 0), ("pytest.skip('gone')", "failed", 1)],
    ids=["passed", "skipped"],
)
def test_a_test_that_crashed_its_worker_is_judged_on_the_plugin_s_rerun(
    tmp_path: Path, then: str, outcome: str, code: int
) -> None:
    # pytest-rerunfailures runs a crashed worker's test again; the flaky one says it crashed,
    # and a skip on the rerun is no pass (nor a fixture's error: the crash was in no phase)
    test = f"import pytest\n{CRASHES_ITS_WORKER_ONCE}    {then}\n"
    run, result = one_test_under_a_rerun_plugin(tmp_path, test, "-n 2")
    assert run.code == code and (result["outcome"], result["attempts"]) == (outcome, 2), run.log
    crash = r"worker 'gw\d' crashed while running '\S+'"
    assert re.fullmatch(
        crash if then == "" else f"failed \\({crash}\\), then skipped .*", result["message"]
    ), result


def test_a_test_that_crashed_its_worker_failed_it_did_not_error_in_setup(tmp_path: Path) -> None:
    # pytest-xdist reports the crash in no phase, which JUnit files as "failed on setup"
    make_project(tmp_path, {"test_c.py": "import os\n\ndef test_exits():\n    os._exit(3)\n"})
    run = shipline(tmp_path, "run", args="-n 2", reruns="0")
    assert run.code == 1, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    assert (result["outcome"], result["line"]) == ("failed", 3), result  # on its def line
    # whichever worker started first got it
    crash = r"worker 'gw\d' crashed while running 'tests/test_c.py::test_exits'"
    assert re.fullmatch(crash, result["message"]), result
    # merge's junit.xml says so too, where pytest's own report has an error
    shard_xml = ET.parse(tmp_path / "test-results" / "shard-1of1.xml").getroot()  # noqa: S314
    said = shard_xml.find(".//testcase[@name='test_exits']/error")
    assert said is not None and said.get("message", "").startswith("failed on setup with")
    merged = shipline(tmp_path, "merge")
    assert merged.code == 1 and merged.outputs["failed"] == "1", merged.log
    suite = ET.parse(tmp_path / "test-results" / "junit.xml").getroot().find("testsuite")  # noqa: S314
    assert suite is not None and (suite.get("failures"), suite.get("errors")) == ("1", "0")
    failure = suite.find("testcase[@name='test_exits']/failure")
    assert failure is not None and re.fullmatch(crash, failure.get("message", "")), failure


STOPS_EARLY = """\
import time

import pytest


def test_a_fails_at_once():
    assert 1 + 1 == 3


@pytest.mark.parametrize("n", range(10))
def test_b_takes_a_while(n):
    time.sleep(0.3)
"""


def test_a_run_pytest_xdist_stopped_on_a_failure_names_and_places_it(tmp_path: Path) -> None:
    # pytest alone exits 1 after -x, pytest-xdist 2 ("Interrupted: stopping after 1 failures")
    make_project(tmp_path, {"test_s.py": STOPS_EARLY})
    run = shipline(tmp_path, "run", args="-x -n 2", reruns="0")
    assert run.code == 1, run.log
    assert (
        "stopped the run, after 1 failing test(s) (first: tests/test_s.py::test_a_fails_at_once)"
        in (run.log)
    )
    assert ("error", "proj/tests/test_s.py", "7") in [
        (n, p.get("file"), p.get("line")) for n, p, _ in run.annotations
    ]


STOPS_ONE_WORKER_LATE = """\
import os
import time


def test_a_fails_late_on_gw0():
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw0":
        time.sleep(1)
        assert False, "broken on gw0"


def test_b_passes():
    pass
"""


def test_a_run_pytest_xdist_stopped_fails_though_another_worker_ran_every_test(
    tmp_path: Path,
) -> None:
    # --dist each: gw1 ran both tests, gw0 was stopped before test_b; the one failure is
    # quarantined, so only the stop can fail the shard, as it must
    make_project(tmp_path, {"test_s.py": STOPS_ONE_WORKER_LATE})
    (tmp_path / "quarantine.yml").write_text(
        "version: 1\ntests:\n  - id: tests/test_s.py::test_a_fails_late_on_gw0\n"
        "    reason: broken on one worker\n    owner: dev@example.com\n"
        "    issue: https://github.com/acme/demo/issues/1\n    expires: 2999-12-31\n"
    )
    run = shipline(
        tmp_path, "run", args="-x -n 2 --dist each", reruns="0", quarantine="quarantine.yml"
    )
    assert run.code == 1, run.log
    stopped = "pytest-xdist's -x or --maxfail (in args or the project's addopts) stopped the run"
    assert stopped in run.log, run.log
    assert "1 of them quarantined, which pytest's -x and --maxfail count" in run.log


FAILS_MORE_EACH_ROUND = """\
import os
from pathlib import Path


def test_a_fails_more_each_round():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    mark = Path(__file__).with_name(f"tried-{worker}")
    if worker == "gw1" and not mark.exists():
        mark.touch()
        return
    assert False, "broken"


def test_b_passes():
    pass
"""


def test_a_rerun_pytest_xdist_stopped_fails_the_shard_saying_so(tmp_path: Path) -> None:
    # one failure at first (gw0), two in the rerun (both workers): --maxfail=2 stops the rerun
    make_project(tmp_path, {"test_r.py": FAILS_MORE_EACH_ROUND})
    run = shipline(tmp_path, "run", args="--maxfail=2 -n 2 --dist each", reruns="1")
    assert run.code == 1, run.log
    assert "rerun 1: pytest-xdist's -x or --maxfail (in args or the project's addopts)" in (
        error(run)
    )


CRASHES_IN_TEARDOWN = """\
import os

import pytest


@pytest.fixture
def server():
    yield
    os._exit(3)  # its teardown takes the worker down


@pytest.fixture
def database():
    raise ConnectionError("refused")


def test_fails_then_crashes(server):
    assert 1 == 2, "wrong answer"


def test_errors_then_crashes(server, database):
    pass
"""


STEPS = """\
import os
import time
from pathlib import Path

import pytest

STEPS = {steps!r}


@pytest.fixture
def step():
    tries = Path(__file__).with_name("tries")
    count = int(tries.read_text()) if tries.exists() else 0
    tries.write_text(str(count + 1))
    step = STEPS[min(count, len(STEPS) - 1)]
    yield step
    if step == "fail in call and teardown":
        raise RuntimeError("teardown too")


def test_steps(step):
    if step == "crash":
        time.sleep(1)  # see CRASH_AFTER_A_SECOND
        os._exit(3)
    assert step == "pass", "attempt failed"
"""
DEF_LINE = STEPS.splitlines().index("def test_steps(step):") + 1
ASSERT_LINE = STEPS.splitlines().index('    assert step == "pass", "attempt failed"') + 1
CRASH = r"worker 'gw\d' crashed while running '\S+'"


@pytest.mark.parametrize(
    ("steps", "outcome", "attempts", "line", "message"),
    [
        (["fail", "crash", "pass"], "flaky", 3, ASSERT_LINE, "AssertionError: attempt failed.*"),
        (["crash", "fail"], "failed", 3, DEF_LINE, CRASH),
        (["fail in call and teardown", "pass"], "flaky", 2, ASSERT_LINE, "AssertionError.*"),
    ],
    ids=["fail-crash-pass", "crash-fail-fail", "call-and-teardown-then-pass"],
)
def test_a_rerun_plugin_s_attempts_are_counted_and_placed_by_the_first_failure(
    tmp_path: Path, steps: list[str], outcome: str, attempts: int, line: int, message: str
) -> None:
    # after a crash the plugin runs the test again on the worker that replaced the crashed
    # one; a crash, placed nowhere by its text, goes on the def line, not a later attempt's
    test = STEPS.format(steps=steps)
    run, result = one_test_under_a_rerun_plugin(tmp_path, test, "-n 2")
    assert (result["outcome"], result["attempts"], result["line"]) == (outcome, attempts, line)
    assert re.fullmatch(message, result["message"], re.DOTALL), result
    assert run.code == (1 if outcome == "failed" else 0), run.log


# Items of a plugin's own, from .chk files, with no line to name
ITEMS_WITHOUT_A_LINE = """\
import os
import time
from pathlib import Path

import pytest


class Check(pytest.Item):
    def runtest(self):
        tried = Path(__file__).with_name("tried")
        if not tried.exists():
            tried.touch()
            time.sleep(1)  # see CRASH_AFTER_A_SECOND
            os._exit(3)
        raise AssertionError("check failed")

    def reportinfo(self):
        return self.path, None, self.name


class Checks(pytest.File):
    def collect(self):
        yield Check.from_parent(self, name="check")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".chk":
        return Checks.from_parent(parent, path=file_path)
"""


def test_a_crash_first_of_an_item_without_a_line_is_placed_on_its_file(tmp_path: Path) -> None:
    # not on the line of the conftest where a later attempt failed
    make_project(
        tmp_path, {"conftest.py": ITEMS_WITHOUT_A_LINE, "a.chk": "check\n"}, ini=RERUN_TWICE
    )
    run = shipline(tmp_path, "run", args="-n 2", reruns="0")
    assert run.code == 1, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    assert (result["outcome"], result["attempts"]) == ("failed", 3), result
    assert (result["file"], result["line"]) == ("tests/a.chk", None), result


def test_a_test_that_failed_before_its_worker_crashed_keeps_its_failure(tmp_path: Path) -> None:
    make_project(tmp_path, {"test_t.py": CRASHES_IN_TEARDOWN})
    run = shipline(tmp_path, "run", args="-n 2", reruns="0")
    assert run.code == 1, run.log
    results = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    shown = {r["nodeid"].split("::")[1]: (r["outcome"], r["message"]) for r in results}
    crash = r"; then worker 'gw\d' crashed while running '\S+'"
    outcome, message = shown["test_fails_then_crashes"]
    assert outcome == "failed" and re.fullmatch(f"AssertionError: wrong answer\n.*{crash}", message)
    outcome, message = shown["test_errors_then_crashes"]  # the fixture's error stands
    assert outcome == "error" and re.fullmatch(f"failed on setup with .*refused.*{crash}", message)


def test_a_crashed_test_defined_in_another_file_is_placed_there(tmp_path: Path) -> None:
    # a shared base class: the test's node id names the module that collects it
    base = "import os\n\n\nclass Base:\n    def test_crashes(self):\n        os._exit(3)\n"
    derived = "from base import Base\n\n\nclass TestSqlite(Base):\n    pass\n"
    make_project(tmp_path, {"base.py": base, "test_sqlite.py": derived})
    run = shipline(tmp_path, "run", args="-n 2", reruns="0")
    assert run.code == 1, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    assert (result["outcome"], result["file"], result["line"]) == ("failed", "tests/base.py", 5)


ALWAYS_FAILS = "def test_always_fails():\n    assert False, 'broken'\n"
# What pytest-tldr does: its own reporter, with stats of its own kinds, under pytest's name
REPORTER_STAND_IN = """\
import pytest


class StandIn:
    def __init__(self):
        self.stats = {}


@pytest.hookimpl(trylast=True)  # once pytest's own is there
def pytest_configure(config):
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    config.pluginmanager.unregister(reporter)
    config.pluginmanager.register(StandIn(), "terminalreporter")
"""


# A project's own category for some failures, as pytest_report_teststatus allows
FAILURES_OF_ITS_OWN_KIND = """\
def pytest_report_teststatus(report):
    if report.failed:
        return "infra", "I", "INFRA"
"""


@pytest.mark.parametrize(
    "plugin", [REPORTER_STAND_IN, FAILURES_OF_ITS_OWN_KIND], ids=["stand-in", "own-category"]
)
def test_a_failure_is_not_turned_flaky_however_pytest_s_summary_is_kept(
    tmp_path: Path, plugin: str
) -> None:
    make_project(tmp_path, {"test_one.py": ALWAYS_FAILS}, ini=RERUN_TWICE)
    (tmp_path / "proj" / "summary_plugin.py").write_text(plugin)
    run = shipline(tmp_path, "run", args="-p summary_plugin", reruns="0")
    assert run.code == 1, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    assert (result["outcome"], result["attempts"]) == ("failed", 3), result


SUBTEST_FAILS_ON_THE_FIRST_TRY = """\
from pathlib import Path


def test_subtest_passes_on_the_rerun(subtests):
    tries = Path(__file__).with_name("subtest_tries")
    count = int(tries.read_text()) if tries.exists() else 0
    tries.write_text(str(count + 1))
    with subtests.test("first try"):
        assert count >= 1, "not yet"
"""


def test_a_subtest_that_failed_before_a_rerun_plugin_s_rerun_passed_is_flaky(
    tmp_path: Path,
) -> None:
    # JUnit keeps the first try's failed subtest in the test's case beside the passing rerun
    run, result = one_test_under_a_rerun_plugin(tmp_path, SUBTEST_FAILS_ON_THE_FIRST_TRY)
    assert run.code == 0, run.log
    assert (result["outcome"], result["attempts"]) == ("flaky", 2), result
    assert result["message"].startswith("AssertionError: not yet"), result["message"]
    assert (result["file"], result["line"]) == ("tests/test_one.py", 9)


FAILS_IN_A_HELPER = """def check(value):
    assert value == 2, "not two"


def test_calls_the_helper():
    value = 1
    check(value)
"""


@pytest.mark.parametrize("args", ["--tb=no", "--tb=line", "--tb=line -n 2", "--tb=short"], ids=str)
def test_a_failure_is_placed_where_it_happened_whatever_the_traceback_style(
    tmp_path: Path, args: str
) -> None:
    make_project(tmp_path, {"test_helper.py": FAILS_IN_A_HELPER})
    run = shipline(tmp_path, "run", args=args, reruns="0")
    assert run.code == 1, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    assert (result["file"], result["line"]) == ("tests/test_helper.py", 2)  # not the def, line 5
    (placed,) = [p for level, p, _ in run.annotations if level == "error"]
    assert placed["file"].endswith("tests/test_helper.py") and placed["line"] == "2", placed


SIBLING_PACKAGE = "def check(value):\n    if value < 0:\n        raise ValueError(value)\n"
CALLS_THE_SIBLING = """\
import common


def test_calls_the_sibling():
    value = -1
    common.check(value)
"""


@pytest.mark.parametrize("args", ["--tb=no", "--tb=line", "--tb=short"], ids=str)
def test_a_failure_in_a_sibling_package_is_placed_on_the_project_s_last_line(
    tmp_path: Path, args: str
) -> None:
    # a monorepo: the project imports a package beside it, which is no file of the project's
    make_project(tmp_path, {"test_sibling.py": CALLS_THE_SIBLING}, ini="pythonpath = ../common\n")
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "common.py").write_text(SIBLING_PACKAGE)
    run = shipline(tmp_path, "run", args=args, reruns="0")
    assert run.code == 1, run.log
    (result,) = json.loads((tmp_path / "test-results" / "shard-1of1.json").read_text())["results"]
    assert (result["file"], result["line"]) == ("tests/test_sibling.py", 6)  # not the def, 4


def test_colour_forced_on_does_not_change_what_pytest_s_output_is_read_as(
    tmp_path: Path,
) -> None:
    make_project(
        tmp_path,
        {"conftest.py": "import nonexistent_dep\n", "test_a.py": "def test_fine():\n    pass\n"},
    )
    run = run_action(
        "test-matrix",
        tmp_path,
        {"mode": "run", "path": "proj", "python": sys.executable, "shards": "1", "shard": "1"},
        env={"FORCE_COLOR": "1", "PY_COLORS": "1"},
    )
    assert run.code == 1, run.log
    message = error(run)
    assert message.startswith("pytest could not load tests/conftest.py:1: ModuleNotFoundError")
    assert "\x1b[" not in message


def test_a_test_raising_keyboard_interrupt_is_named(tmp_path: Path) -> None:
    interrupting = "def test_a():\n    pass\n\n\ndef test_z():\n    raise KeyboardInterrupt\n"
    make_project(tmp_path, {"test_z.py": interrupting})
    run = shipline(tmp_path, "run")
    assert run.code == 1, run.log
    assert error(run) == (
        "pytest stopped the run (exit code 2): a test raised KeyboardInterrupt (tests/test_z.py:6)"
    )


def test_a_collection_error_under_x_is_named_whatever_the_terminal_shows(
    tmp_path: Path,
) -> None:
    # -x ends the collection at the error only when more modules follow it
    fine = "def test_fine():\n    pass\n"
    make_project(tmp_path, {"test_broken.py": "import nonexistent_mod\n", "test_z.py": fine})
    for mode in ("plan", "run"):
        run = shipline(tmp_path, mode, args="-x -p no:terminal")
        assert run.code == 1, run.log
        assert error(run).startswith("pytest could not collect the tests (exit code ")
        assert error(run).endswith(
            "): tests/test_broken.py: ModuleNotFoundError: No module named 'nonexistent_mod'"
        )


def test_a_collection_error_without_an_exception_line_says_what_and_what_to_do(
    tmp_path: Path,
) -> None:
    # two test modules of one basename in directories without __init__.py
    make_project(tmp_path, {})
    for directory in ("a", "b"):
        (tmp_path / "proj" / "tests" / directory).mkdir()
        (tmp_path / "proj" / "tests" / directory / "test_same.py").write_text(
            "def test_x():\n    pass\n"
        )
    plan = shipline(tmp_path, "plan")
    assert plan.code == 1, plan.log
    assert "tests/b/test_same.py: import file mismatch: ... HINT: " in error(plan)
