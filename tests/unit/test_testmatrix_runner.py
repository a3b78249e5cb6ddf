"""The pytest adapter: live output, timeouts, and test ids that overflow a command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from shipline import tools
from shipline.errors import ToolFailedError, UsageError
from shipline.interrupts import interrupt_stops_tools
from shipline.testmatrix import (
    plugin_record,
    process_stream,
    pytest_output,
    pytest_runner,
)
from shipline.testmatrix.process_stream import CommandTooLongError, stream
from shipline.testmatrix.results import Outcome, TestResult
from shipline.tools import PROCESS_GROUPS, ToolResult
from tests.support.placed_signals import sigint_at
from tests.support.processes import end, ended, group_ended, long_lived_child

# 3,000 arguments of 1,000 characters: over Linux's 2 MB for a whole command line.
TOO_MANY = [f"tests/test_x.py::test[{n:04d}-" + "x" * 980 + "]" for n in range(3000)]


def test_stream_shows_lines_as_they_come_and_kills_on_timeout(tmp_path: Path) -> None:
    seen: list[str] = []
    done = stream(
        [sys.executable, "-c", "print('one'); print('two')"],
        cwd=tmp_path,
        timeout=30,
        echo=seen.append,
    )
    assert seen == ["one", "two"] and done.returncode == 0
    with pytest.raises(ToolFailedError, match=r"did not finish within 0\.5 s"):
        stream(
            [sys.executable, "-c", "import time; time.sleep(30)"],
            cwd=tmp_path,
            timeout=0.5,
            echo=seen.append,
        )


# A tool that starts a child sharing its output, as a test running a CLI or a server under -s
# does; the child would live 60 s.
SPAWNS_A_CHILD = """\
import subprocess, sys
subprocess.Popen([sys.executable, "-c", {child!r}])
print("started", flush=True)
{then}
"""

needs_process_groups = pytest.mark.skipif(not PROCESS_GROUPS, reason="no process groups (Windows)")


@needs_process_groups
def test_a_timeout_kills_the_children_that_hold_the_output_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = SPAWNS_A_CHILD.format(
        child=long_lived_child(pid_file), then="import time; time.sleep(60)"
    )
    seen: list[str] = []
    started = time.monotonic()
    with pytest.raises(ToolFailedError, match=r"did not finish within 1 s"):
        stream([sys.executable, "-c", script], cwd=tmp_path, timeout=1, echo=seen.append)
    assert time.monotonic() - started < 30  # not the 60 s the tool and its child would take
    # SIGINT first: the tool (and its child, on the same output) was interrupted where it waited
    assert seen[0] == "started" and any("KeyboardInterrupt" in line for line in seen)
    assert ended(pid_file)


@needs_process_groups
def test_output_is_read_until_the_tool_exits_and_its_leftovers_are_killed(tmp_path: Path) -> None:
    # a test server nobody stopped: it would hold the pipe, and the job, for as long as it runs
    pid_file = tmp_path / "server.pid"
    script = SPAWNS_A_CHILD.format(child=long_lived_child(pid_file), then="print('done')")
    seen: list[str] = []
    started = time.monotonic()
    done = stream([sys.executable, "-c", script], cwd=tmp_path, timeout=120, echo=seen.append)
    assert time.monotonic() - started < 30  # not the server's 60 s
    assert seen == ["started", "done"] and done.returncode == 0
    assert ended(pid_file)


def test_the_output_written_just_before_the_exit_is_all_shown(tmp_path: Path) -> None:
    script = "import sys\nfor n in range(20000): print(n)\nsys.stdout.write('no newline')"
    seen: list[str] = []
    stream([sys.executable, "-c", script], cwd=tmp_path, timeout=30, echo=seen.append)
    assert len(seen) == 20001 and seen[-1] == "no newline"


def test_a_burst_of_output_at_the_exit_is_shown_to_the_end_however_slowly_the_log_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest prints its failures and summary in one burst as it exits; a busy runner's log
    # takes it slower than DRAIN_SECONDS
    monkeypatch.setattr(process_stream, "DRAIN_SECONDS", 0.3)
    seen: list[str] = []

    def slow_log(line: str) -> None:
        time.sleep(0.002)
        seen.append(line)

    script = "for n in range(1000): print(n)\nprint('1 failed in 0.1s')"
    stream([sys.executable, "-c", script], cwd=tmp_path, timeout=30, echo=slow_log)
    assert len(seen) == 1001 and seen[-1] == "1 failed in 0.1s"


# A test that starts a daemon in a session of its own (outside pytest's group, so it is not
# killed) which inherits the output: it writes ``{writes}`` lines, one every 0.1 s, then holds
# the output open for 60 s more.
ESCAPES_THE_GROUP = """\
import subprocess, sys
subprocess.Popen([sys.executable, "-c",
    "import os, pathlib, time\\npathlib.Path({pid_file!r}).write_text(str(os.getpid()))\\n"
    "for n in range({writes}): print('daemon', flush=True); time.sleep(0.1)\\n"
    "time.sleep(60)"], start_new_session=True)
print("done", flush=True)
"""


@needs_process_groups
def test_output_held_open_outside_the_group_is_given_up_with_a_line_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_stream, "DRAIN_SECONDS", 0.5)
    pid_file = tmp_path / "daemon.pid"
    seen: list[str] = []
    started = time.monotonic()
    script = ESCAPES_THE_GROUP.format(writes=10, pid_file=str(pid_file))  # 1 s > DRAIN_SECONDS
    try:
        done = stream([sys.executable, "-c", script], cwd=tmp_path, timeout=120, echo=seen.append)
        assert time.monotonic() - started < 30  # not the daemon's 60 s
    finally:
        end(pid_file)
    assert done.returncode == 0
    # more output coming puts giving up off: the deadline counts from the last line
    assert seen == ["done", *["daemon"] * 10, process_stream.OUTPUT_CUT]
    assert process_stream.OUTPUT_CUT not in done.stdout  # not in error messages built from it


@needs_process_groups
def test_a_process_outside_the_group_that_keeps_writing_is_read_for_a_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_stream, "DRAIN_SECONDS", 0.5)
    monkeypatch.setattr(process_stream, "DRAIN_LIMIT_SECONDS", 1.0)
    pid_file = tmp_path / "daemon.pid"
    seen: list[str] = []
    started = time.monotonic()
    script = ESCAPES_THE_GROUP.format(writes=600, pid_file=str(pid_file))  # for 60 s
    try:
        stream([sys.executable, "-c", script], cwd=tmp_path, timeout=120, echo=seen.append)
        assert time.monotonic() - started < 30
    finally:
        end(pid_file)
    assert seen[0] == "done" and 0 < seen.count("daemon") < 300
    assert seen[-1] == process_stream.OUTPUT_CUT


# A tool that cleans up when interrupted, as pytest tears its fixtures down on Ctrl-C, and has a
# child in its group that ignores SIGINT and would live 60 s.
CLEANS_UP = """\
import pathlib, signal, subprocess, sys, time
{ignore}
subprocess.Popen([sys.executable, "-c", {child!r}])
try:
    print("started", flush=True)
    time.sleep(60)
finally:
    pathlib.Path({cleaned!r}).write_text("torn down")
"""


def _interrupted_on_start(line: str) -> None:
    raise KeyboardInterrupt


def _stop(script: str, tmp_path: Path, stopped_by: str) -> None:
    """Run ``script`` and stop it with Ctrl-C as it starts, or with a 1 s timeout."""
    command = [sys.executable, "-c", script]
    if stopped_by == "ctrl-c":
        with pytest.raises(KeyboardInterrupt):
            stream(command, cwd=tmp_path, timeout=120, echo=_interrupted_on_start)
    else:
        with pytest.raises(process_stream.StreamTimeoutError):
            stream(command, cwd=tmp_path, timeout=1, echo=print)


# pytest that counts the SIGINTs it gets and does not stop for them
COUNTS_INTERRUPTS = """\
import pathlib, signal, time
counted = pathlib.Path({counted!r})
signal.signal(signal.SIGINT, lambda *_: counted.open("a").write("SIGINT\\n"))
print("started", flush=True)
while True:
    time.sleep(0.05)
"""


@needs_process_groups
def test_a_second_interrupt_as_the_run_is_killed_does_not_start_the_stop_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second interrupt (placed by a trace hook as the kill is due) waits for the kill: it
    does not leave the kill undone, to be done after another SIGINT and another grace time."""
    monkeypatch.setattr(process_stream, "STOP_GRACE_SECONDS", 1.0)
    counted = tmp_path / "counted"
    script = COUNTS_INTERRUPTS.format(counted=str(counted))
    kill = tools.kill_process.__code__

    def as_the_kill_is_due(frame: FrameType, event: str) -> bool:
        return event == "call" and frame.f_code is kill and counted.exists()

    with (
        sigint_at(as_the_kill_is_due) as sent,
        pytest.raises(KeyboardInterrupt),
        interrupt_stops_tools(),
    ):
        stream(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            timeout=120,
            echo=_interrupted_on_start,
        )
    assert sent
    assert counted.read_text() == "SIGINT\n"


@needs_process_groups
def test_an_interrupt_as_the_run_starts_still_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between pytest's start and the moment the stream can stop it, an interrupt waits."""
    busy = long_lived_child(tmp_path / "pytest.pid")
    real_start = process_stream._start
    started: list[int] = []

    def start_then_interrupted(*args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        process = real_start(*args, **kwargs)
        started.append(process.pid)
        os.kill(os.getpid(), signal.SIGINT)  # handled here, before the stream can stop it
        return process

    monkeypatch.setattr(process_stream, "_start", start_then_interrupted)
    with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
        stream([sys.executable, "-c", busy], cwd=tmp_path, timeout=120, echo=print)
    assert group_ended(started[0])


@needs_process_groups
@pytest.mark.parametrize("stopped_by", ["ctrl-c", "timeout"])
def test_a_stopped_run_is_interrupted_first_so_that_it_tears_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopped_by: str
) -> None:
    monkeypatch.setattr(process_stream, "STOP_GRACE_SECONDS", 60.0)
    pid_file, cleaned = tmp_path / "child.pid", tmp_path / "cleaned"
    child = long_lived_child(pid_file, ignores_interrupt=True)
    script = CLEANS_UP.format(ignore="", child=child, cleaned=str(cleaned))
    started = time.monotonic()
    _stop(script, tmp_path, stopped_by)
    assert cleaned.read_text() == "torn down"
    # the tool ended on SIGINT, well within the grace time; the child, which ignores SIGINT,
    # was killed once the tool had finished
    assert time.monotonic() - started < 30
    assert ended(pid_file)


@needs_process_groups
@pytest.mark.parametrize("stopped_by", ["ctrl-c", "timeout"])
def test_a_tool_that_ignores_the_interrupt_is_killed_after_the_grace_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopped_by: str
) -> None:
    monkeypatch.setattr(process_stream, "STOP_GRACE_SECONDS", 1.0)
    pid_file, cleaned = tmp_path / "child.pid", tmp_path / "cleaned"
    ignores = "signal.signal(signal.SIGINT, signal.SIG_IGN)"
    child = long_lived_child(pid_file, ignores_interrupt=True)
    script = CLEANS_UP.format(ignore=ignores, child=child, cleaned=str(cleaned))
    started = time.monotonic()
    _stop(script, tmp_path, stopped_by)
    waited = time.monotonic() - started
    assert 1.0 <= waited < 30, waited  # the grace time, not the tool's 60 s
    assert not cleaned.exists()  # SIGKILL: no chance to clean up
    assert ended(pid_file)


def test_a_timeout_names_pytest_and_the_test_it_was_running(tmp_path: Path) -> None:
    project = pytest_runner.Project(tmp_path, sys.executable, (), (), 1)
    verbose = (
        "print('tests/test_a.py::test_fine PASSED   [ 50%]'); "
        "print('tests/test_a.py::test_hangs[x-1] ', flush=True); import time; time.sleep(30)"
    )
    with pytest.raises(ToolFailedError) as raised:
        pytest_runner._stream_pytest([sys.executable, "-c", verbose], project, echo=print, env=None)
    assert str(raised.value) == (
        "pytest did not finish within 1 s; it was running tests/test_a.py::test_hangs[x-1]"
    )
    quiet = "print('tests/test_a.py .', flush=True); import time; time.sleep(30)"
    with pytest.raises(ToolFailedError) as raised:
        pytest_runner._stream_pytest([sys.executable, "-c", quiet], project, echo=print, env=None)
    assert str(raised.value) == "pytest did not finish within 1 s"


FAULTHANDLER_OUTPUT = """\
tests/test_c.py .Fatal Python error: Segmentation fault

Thread 0x00007f1 (most recent call first):
  File "{project}/tests/test_other.py", line 9 in worker

Current thread 0x00007f2 (most recent call first):
  File "{project}/.venv/lib/python3.12/site-packages/ctypes_lib.py", line 5 in string_at
  File "{project}/tests/test_c.py", line 3 in helper
  File "{project}/tests/test_c.py", line 6 in test_c
  File "{project}/.venv/lib/python3.12/site-packages/_pytest/python.py", line 159 in pytest_pyfunc_call
  File "{project}/.venv/lib/python3.12/site-packages/pluggy/_callers.py", line 102 in _multicall
  File "<frozen runpy>", line 198 in _run_module_as_main
"""


def _crashed(tmp_path: Path, output: str, returncode: int) -> str:
    project = pytest_runner.Project(tmp_path, sys.executable, (), (), 60)
    result = ToolResult(("python",), returncode, output.format(project=tmp_path), "")
    with pytest.raises(ToolFailedError) as raised:
        pytest_runner._check_completed(result, project, pytest_runner._refused_options)
    return str(raised.value)


def test_a_crash_names_the_signal_and_the_test_from_faulthandler_s_stack(tmp_path: Path) -> None:
    message = _crashed(tmp_path, FAULTHANDLER_OUTPUT, -signal.SIGSEGV)
    assert message == "pytest was killed by SIGSEGV in test_c at tests/test_c.py:6"


def test_a_crash_in_a_fixture_names_the_project_s_first_frame(tmp_path: Path) -> None:
    in_fixture = FAULTHANDLER_OUTPUT.replace("test_c\n", "fixture_body\n").replace(
        "pytest_pyfunc_call", "call_fixture_func"
    )
    message = _crashed(tmp_path, in_fixture, -signal.SIGSEGV)
    assert message.endswith("in helper at tests/test_c.py:3")


def test_a_crash_without_faulthandler_names_the_last_test_pytest_printed(tmp_path: Path) -> None:
    output = "tests/test_c.py::test_ok PASSED    [ 50%]\ntests/test_c.py::test_c[a-1] \n"
    message = _crashed(tmp_path, output, -signal.SIGABRT)
    assert message == "pytest was killed by SIGABRT while running tests/test_c.py::test_c[a-1]"
    assert "does not say in which test" in _crashed(tmp_path, "collected 2 items\n", -9)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "ERROR: usage: python -m pytest [options] [file_or_dir]\n"
            "python -m pytest: error: unrecognized arguments: --bogus\n  inifile: None\n",
            "python -m pytest: error: unrecognized arguments: --bogus",
        ),
        (
            "collected 1 item\n\nno tests ran\nERROR: Wrong expression passed to '-m': unit and\n",
            "ERROR: Wrong expression passed to '-m': unit and",
        ),
    ],
)
def test_a_usage_error_is_bad_input_with_pytest_s_own_line(
    tmp_path: Path, output: str, expected: str
) -> None:
    project = pytest_runner.Project(tmp_path, sys.executable, (), (), 60)
    result = ToolResult(("python",), 4, output, "")
    with pytest.raises(UsageError) as raised:
        pytest_runner._check_completed(result, project, pytest_runner._refused_options)
    message = str(raised.value)
    assert message.startswith(f"pytest refused its options (exit code 4): {expected}; check")
    assert "'markers', 'args'" in message
    with pytest.raises(ToolFailedError, match="could not rerun the failed tests") as rerun:
        pytest_runner._check_completed(result, project, pytest_runner._refused_rerun)
    assert not isinstance(rerun.value, UsageError)


def test_a_command_line_the_system_refuses_is_reported_as_too_long(tmp_path: Path) -> None:
    with pytest.raises(CommandTooLongError, match=r"3003 arguments, \d+ bytes, are more than"):
        stream([sys.executable, "-c", "pass", *TOO_MANY], cwd=tmp_path, timeout=30, echo=print)


def test_a_pytest_without_argument_files_says_how_to_fit_a_long_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytest_runner, "reads_argument_files", lambda python, directory: False)
    project = pytest_runner.Project(tmp_path, sys.executable, (), (), 60)
    with pytest.raises(
        ToolFailedError, match=r"the 3000 test ids do not fit.*pytest 8\.2 or newer"
    ):
        pytest_runner.run(project, TOO_MANY, tmp_path / "report.xml", echo=print)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("8.2.0", True),
        ("9.2.0", True),
        ("10.0.0rc1", True),
        ("8.3.0.dev12+g1a2b3c", True),
        ("8.1.2", False),
        ("7.4.4", False),
        ("", False),
        ("not a version", False),
    ],
)
def test_argument_files_need_pytest_8_2(version: str, expected: bool) -> None:
    assert pytest_runner.version_at_least(version, pytest_runner.ARGUMENT_FILES_SINCE) is expected


def test_the_interpreter_s_own_pytest_is_asked(tmp_path: Path) -> None:
    # this environment's pytest is recent; an interpreter without pytest cannot take files
    assert pytest_runner.reads_argument_files(sys.executable, tmp_path)
    bare = tmp_path / "bare"
    bare.write_text("#!/bin/sh\nexit 1\n")
    bare.chmod(0o755)
    assert not pytest_runner.reads_argument_files(str(bare), tmp_path)


# what pytest-timeout's thread method prints before os._exit (abridged; a real run's frames)
THREAD_TIMEOUT = """\
tests/test_t.py +++++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++++
~~~~~~~~~~~~~~~~~~~~ Stack of MainThread (139667479899008) ~~~~~~~~~~~~~~~~~~~~~
  File "/venv/lib/python3.11/site-packages/_pytest/main.py", line 396, in pytest_runtestloop
    item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
  File "/venv/lib/python3.11/site-packages/_pytest/python.py", line 166, in pytest_pyfunc_call
    result = testfunction(**testargs)
  File "{project}/tests/test_t.py", line 2, in test_hang
    def test_hang(): time.sleep(30)
+++++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++++
"""


def test_a_run_ended_by_pytest_timeout_s_thread_method_names_it_and_the_test(
    tmp_path: Path,
) -> None:
    result = ToolResult(("python",), 1, THREAD_TIMEOUT.format(project=tmp_path), "")
    assert pytest_output.no_report(result, tmp_path) == (
        "pytest exited with code 1 without writing its JUnit report: pytest-timeout's thread "
        "method ended the process in test_hang at tests/test_t.py:2 "
        "(--timeout-method=signal fails just the test)"
    )
    plain = ToolResult(("python",), 1, "tests/test_t.py::test_x \n", "")
    assert "(did a test call os._exit?)" in pytest_output.no_report(plain, tmp_path)


def test_the_last_test_started_is_read_from_the_progress_not_the_summaries() -> None:
    output = (
        "tests/test_a.py::test_one ======== a banner the test printed (-s) ========\n"
        "PASSED [ 50%]\n"
        "tests/test_b.py::test_two \n"
        "=============================== warnings summary ===============================\n"
        "tests/test_a.py::test_one\n"
        "  UserWarning: careful\n"
    )
    assert pytest_output.last_started(output) == "tests/test_b.py::test_two"
    banner_only = "tests/test_a.py::test_one PASSED\n=== the next test's own banner ===\n"
    assert pytest_output.last_started(banner_only + "tests/test_b.py::test_two \n") == (
        "tests/test_b.py::test_two"
    )


def test_why_pytest_stopped_a_collected_run(tmp_path: Path) -> None:
    raised = (
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!! KeyboardInterrupt !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        f"{tmp_path}/tests/test_z.py:2: KeyboardInterrupt\n"
    )
    assert pytest_output.interruption(raised, tmp_path) == (
        "a test raised KeyboardInterrupt (tests/test_z.py:2)"
    )
    exited = "!!!!!!!!!!!!! _pytest.outcomes.Exit: the database is gone !!!!!!!!!!!!!\n"
    assert pytest_output.interruption(exited, tmp_path) == (
        "pytest.exit() was called: the database is gone"
    )
    xdist = (
        "!!!!!!!!!!!!!!!!!!!!!!!!!! stopping after 1 failures !!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        "!!!!!!!!!!!! xdist.dsession.Interrupted: stopping after 1 failures !!!!!!!!!!!!!\n"
    )
    # pytest-xdist's -x or --maxfail: the tests ran until enough failed, as with pytest alone
    assert pytest_output.stopped_on_failures(xdist)
    assert not pytest_output.stopped_on_failures(raised + exited)
    exit_so = "!!!!!!!!! _pytest.outcomes.Exit: stopping after the smoke tests !!!!!!!!!\n"
    assert not pytest_output.stopped_on_failures(exit_so)
    # a collection error stops a run with exit code 2 too: that is collection's to say
    collection = (
        "!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n"
    )
    assert pytest_output.interruption(collection, tmp_path) is None
    assert pytest_output.interruption("E   AssertionError: x\n", tmp_path) is None


@pytest.mark.parametrize(
    ("name", "subtest"),
    [("SubtestReport", True), ("SubTestReport", True), ("TestReport", False)],
)
def test_the_plugin_knows_both_subtest_report_classes(name: str, subtest: bool) -> None:
    # pytest 9's own subtests, and the pytest-subtests plugin of pytest 8
    from shipline.testmatrix import shard_plugin

    report = type(name, (), {})()
    assert shard_plugin._subtest(report) is subtest


def test_a_pytest_that_exited_1_is_not_read_as_passed_whatever_the_record_says(
    tmp_path: Path,
) -> None:
    # the record turns a JUnit failure flaky when pytest's summary did not count the test
    # failed: pytest's exit code says a test failed, so the record is wrong, not the test
    failed = TestResult("tests/test_a.py::test_a", Outcome.FAILED, 0.1, "boom", "details")
    attempt = pytest_runner.Attempt([failed], 0.5, 1)
    record = {
        "reruns": {failed.nodeid: {"reruns": 1, "message": "boom", "details": ""}},
        "failed": [],  # pytest's own summary counted no test failed
    }
    with pytest.raises(ToolFailedError, match="pytest exited 1 but its report shows no failure"):
        pytest_runner._with_plugin_record(attempt, record, ToolResult((), 1, "", ""), tmp_path)
    passing = ToolResult((), 0, "", "")
    (flaky,) = pytest_runner._with_plugin_record(attempt, record, passing, tmp_path).results
    assert flaky.outcome is Outcome.FLAKY


def test_a_failure_pytest_s_summary_counts_or_does_not_know_stays_a_failure(tmp_path: Path) -> None:
    failed = TestResult("tests/test_a.py::test_a", Outcome.FAILED, 0.1, "boom", "details")
    attempt = pytest_runner.Attempt([failed], 0.5, 1)
    rerun = {failed.nodeid: {"reruns": 1, "message": "boom", "details": ""}}
    exited_1 = ToolResult((), 1, "", "")
    for counted in ([failed.nodeid], None):  # None: -p no:terminal, no summary to ask
        record = {"reruns": rerun, "failed": counted}
        (result,) = pytest_runner._with_plugin_record(attempt, record, exited_1, tmp_path).results
        assert result.outcome is Outcome.FAILED


@pytest.mark.parametrize(
    ("version", "refused"),
    [
        ("6.2.5", True),
        ("6.3.0.dev4", True),
        ("7.0.0rc1", False),
        ("8.1.0.dev12+gabc", False),
        ("0.1.dev1+g1a2b3c4", False),  # built from a checkout without tags: no release
        ("unknown", False),
    ],
)
def test_only_a_pytest_release_older_than_7_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, version: str, refused: bool
) -> None:
    monkeypatch.setattr(pytest_runner, "pytest_version", lambda python, directory: version)
    project = pytest_runner.Project(tmp_path, "python3", (), (), 60.0)
    if refused:
        with pytest.raises(UsageError, match=rf"^pytest {version} \(for python3\) is too old"):
            pytest_runner.check_pytest(project)
    else:
        pytest_runner.check_pytest(project)


def test_only_junit_s_words_for_a_crash_are_replaced_not_a_quote_of_them(tmp_path: Path) -> None:
    said = "worker 'gw0' crashed while running 'tests/test_a.py::test_a'"
    junit = f'failed on setup with "{said}"'
    own = f"AssertionError: the log says: {junit}"  # the test's own failure quotes the words
    error = TestResult("tests/test_a.py::test_a", Outcome.ERROR, 0.1, f"{own}; then {junit}")
    record = {"crashed": {error.nodeid: {"message": said, "file": None, "line": None}}}
    (result,) = plugin_record.as_recorded([error], record, tmp_path)
    assert (result.outcome, result.message) == (Outcome.FAILED, f"{own}; then {said}")


def test_an_xfail_mark_is_kept_only_on_a_test_judged_skipped_or_passed(tmp_path: Path) -> None:
    # xfailed on a plugin's rerun after a failure: it failed, no xfailed test
    skipped = TestResult("tests/test_a.py::test_a", Outcome.SKIPPED, 0.1, "known bug")
    first = {"reruns": 1, "message": "AssertionError", "details": ""}
    record = {"xfail": [skipped.nodeid], "reruns": {skipped.nodeid: first}}
    (result,) = plugin_record.as_recorded([skipped], record, tmp_path)
    assert (result.outcome, result.xfail) == (Outcome.FAILED, False)
    (result,) = plugin_record.as_recorded([skipped], {"xfail": [skipped.nodeid]}, tmp_path)
    assert (result.outcome, result.xfail) == (Outcome.SKIPPED, True)


@pytest.mark.parametrize(
    ("version", "reads"),
    [("8.1.2", False), ("8.2.0", True), ("9.2.0", True), ("0.1.dev1+g1a2b3c4", True)],
)
def test_a_pytest_built_without_tags_is_taken_to_read_argument_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, version: str, reads: bool
) -> None:
    monkeypatch.setattr(pytest_runner, "pytest_version", lambda python, directory: version)
    assert pytest_runner.reads_argument_files("python3", tmp_path) is reads


@pytest.mark.parametrize(
    ("nodeids", "arguments"),
    [
        (
            ["tests/test_a.py::t[x]", "tests/test_b.py::u"],
            ["tests/test_a.py::t[x]", "tests/test_b.py::u"],
        ),
        # a file pytest's command line refuses: its directory, and no argument beneath it (pytest
        # 8 drops the directory named beside one of its tests, pytest 7 runs that test twice)
        (
            ["tests/test_c.py::x", "tests/test_b[1].py::y", "other/test_o.py::w"],
            ["tests", "other/test_o.py::w"],
        ),
        (["tests/sub/test_b[1].py::y", "tests/test_b[2].py::z"], ["tests"]),
        # the nearest directory above whose path holds no "["
        (["tests/case[1]/deeper/test_x.py::t", "tests/cases/test_y.py::u"], ["tests"]),
        (["test_b[1].py::t", "tests/test_c.py::x"], ["."]),
    ],
)
def test_a_rerun_names_each_test_once_in_a_way_pytest_takes(
    nodeids: list[str], arguments: list[str]
) -> None:
    assert pytest_runner._arguments(nodeids) == arguments
