"""test-matrix against pytest processes that misbehave: output settings, crashes, leftovers.

Each test writes a small project, runs the action through the CLI as a runner does, and runs
the project's tests with a real pytest (this environment's).
"""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from shipline.testmatrix import pytest_runner
from tests.support.action_runner import ActionRun, run_action

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

needs_process_groups = pytest.mark.skipif(
    not pytest_runner.PROCESS_GROUPS, reason="no process groups (Windows)"
)


def make_project(workspace: Path, tests: dict[str, str], ini: str = "") -> None:
    project = workspace / "proj"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text(f"[pytest]\ntestpaths = tests\n{ini}")
    for name, source in tests.items():
        (project / "tests" / name).write_text(textwrap.dedent(source))


def shipline(workspace: Path, mode: str, **inputs: str) -> ActionRun:
    if mode == "run":
        inputs = {"shards": "1", "shard": "1", **inputs}
    return run_action(
        "test-matrix", workspace, {"mode": mode, "path": "proj", "python": sys.executable, **inputs}
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
    ],
    ids=["addopts-q", "args-v", "args-s", "no-terminal"],
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


def test_plan_still_applies_markers_and_reports_an_empty_selection(tmp_path: Path) -> None:
    marked = TWELVE_TESTS.replace("def test_two", "@pytest.mark.slow\ndef test_two")
    make_project(tmp_path, {"test_many.py": marked}, "markers = slow\n")
    run = shipline(tmp_path, "plan", markers="slow")
    assert run.code == 0 and run.outputs["tests"] == "6", run.log
    empty = shipline(tmp_path, "plan", markers="slow and not slow")
    assert empty.code == 1 and "collected no tests" in error(empty)


@needs_process_groups
def test_the_timeout_bounds_a_run_whose_test_s_child_holds_the_output(tmp_path: Path) -> None:
    hangs = f"""\
        import subprocess, sys

        def test_cli_hangs():
            subprocess.run([{sys.executable!r}, "-c", "import time; time.sleep(60)"])
        """
    make_project(tmp_path, {"test_cli.py": hangs})
    started = time.monotonic()
    run = shipline(tmp_path, "run", timeout="3s", args="-s")
    assert time.monotonic() - started < 20, run.log
    assert run.code == 1 and "did not finish within 3 s" in error(run)


@needs_process_groups
def test_a_server_a_test_left_running_neither_holds_the_job_nor_outlives_it(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "server-alive"
    leaks = f"""\
        import subprocess, sys

        def test_starts_a_server():
            subprocess.Popen([{sys.executable!r}, "-c",
                "import time, pathlib; time.sleep(8); pathlib.Path({str(marker)!r}).touch()"])
        """
    make_project(tmp_path, {"test_server.py": leaks})
    started = time.monotonic()
    run = shipline(tmp_path, "run", timeout="60s", args="-s")
    assert time.monotonic() - started < 7, run.log
    assert run.code == 0, run.log
    time.sleep(max(0.0, started + 9 - time.monotonic()))
    assert not marker.exists()


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


def test_exit_code_5_from_a_shard_with_tests_is_a_failed_run(tmp_path: Path) -> None:
    stops = "import pytest\n\ndef test_a():\n    pass\n\ndef test_b():\n    pytest.exit('bye', 5)\n"
    make_project(tmp_path, {"test_stop.py": stops})
    run = shipline(tmp_path, "run")
    assert run.code == 1
    message = error(run)
    assert "stopped with exit code 5 (no tests) after selecting 2 test(s)" in message
    assert "re-plan" not in message


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
