from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from shipline import interrupts, tools
from shipline.errors import ToolFailedError, ToolMissingError
from shipline.gha.inputs import InputError
from shipline.interrupts import interrupt_stops_tools
from shipline.lint import tools as lint_tools
from shipline.tools import find_interpreter, find_tool, run_tool
from tests.support.placed_signals import sigint_at
from tests.support.processes import end, ended, group_ended, long_lived_child


def fake_tool(directory: Path, name: str, script: str) -> Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def test_a_missing_tool_says_which_and_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(ToolMissingError) as caught:
        find_tool("hadolint", "pip install 'shipline[lint]'")
    assert str(caught.value) == "hadolint is not installed: pip install 'shipline[lint]'"
    assert caught.value.exit_code == 2


def test_tools_beside_the_interpreter_win_over_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv_bin, other = tmp_path / "venv", tmp_path / "other"
    venv_bin.mkdir()
    other.mkdir()
    fake_tool(other, "ruff", "exit 0")
    mine = fake_tool(venv_bin, "ruff", "exit 0")
    monkeypatch.setenv("PATH", str(other))
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    assert find_tool("ruff", "hint") == str(mine)


def test_crash_and_timeout_block_with_the_tail_of_stderr(tmp_path: Path) -> None:
    crash = fake_tool(tmp_path, "crash", "echo 'first' >&2; echo 'Traceback: boom' >&2; exit 2")
    with pytest.raises(
        ToolFailedError, match=r"crash failed with exit code 2: first \| Traceback: boom"
    ):
        run_tool([str(crash)], cwd=tmp_path, timeout=10, ok_codes=(0, 1))
    slow = fake_tool(tmp_path, "slow", "sleep 5")
    with pytest.raises(ToolFailedError, match="slow did not finish within 0 s"):
        run_tool([str(slow)], cwd=tmp_path, timeout=0.2)


def busy_tool(directory: Path, pid_file: Path) -> Path:
    """A tool that started a child of its own (as buildah's RUN or git's hooks) and waits."""
    return fake_tool(
        directory, "busy", f'"{sys.executable}" -c "{long_lived_child(pid_file)}" & wait'
    )


def test_a_tool_gets_no_input_of_ours(tmp_path: Path) -> None:
    """A tool in a process group of its own that read the terminal would stop (SIGTTIN): it
    gets an empty input, not whatever shipline's own is."""
    reader = fake_tool(tmp_path, "reader", "cat")
    harness = (
        "import pathlib, sys; from shipline.tools import run_tool; "
        f"print(repr(run_tool([{str(reader)!r}], cwd=pathlib.Path('.'), timeout=30).stdout))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", harness],
        input="what shipline was given",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shown.stdout.strip() == "''"


@pytest.mark.parametrize("terminal", [True, False], ids=["at-a-terminal", "in-ci"])
def test_a_tool_has_a_process_group_of_its_own_only_without_a_terminal(terminal: bool) -> None:
    """At a terminal a tool must stay in the foreground group (Ctrl-C reaches it, it may ask
    for a passphrase); in CI its own group lets shipline stop what it started too."""
    harness = (
        "import os, pathlib, sys; from shipline.tools import run_tool; "
        f"print(run_tool([{sys.executable!r}, '-c', 'import os; print(os.getpgid(0))'], "
        "cwd=pathlib.Path('.'), timeout=30).stdout.strip(), os.getpgid(0))"
    )
    leader, follower = os.openpty()
    try:
        shown = subprocess.run(
            [sys.executable, "-c", harness],
            stdin=follower if terminal else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        os.close(leader)
        os.close(follower)
    tool_group, shipline_group = shown.stdout.split()
    assert (tool_group == shipline_group) is terminal


def test_an_interrupted_tool_gets_a_moment_to_tidy_up(tmp_path: Path) -> None:
    """As buildah removes its working container on Ctrl-C: the tool of the interrupted thread
    is stopped with SIGINT, and killed only if it does not end within a moment."""
    tidy = fake_tool(
        tmp_path,
        "tidy",
        f"trap 'touch {tmp_path}/tidied; exit 1' INT; touch {tmp_path}/started; "
        "while :; do sleep 0.1; done",
    )

    def interrupt_once_started() -> None:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=interrupt_once_started).start()
    with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
        run_tool([str(tidy)], cwd=tmp_path, timeout=60)
    assert (tmp_path / "tidied").exists()


def wait_for_file(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_second_interrupt_while_a_tool_tidies_up_still_kills_it(tmp_path: Path) -> None:
    """Ctrl-C twice, or SIGINT then SIGTERM: the tool is killed however its tidy-up ends."""
    stubborn = fake_tool(
        tmp_path, "stubborn", f"trap '' INT; echo $$ > {tmp_path}/pid; while :; do sleep 0.1; done"
    )

    def interrupt_twice() -> None:
        wait_for_file(tmp_path / "pid")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)  # the tool is being given its moment to tidy up
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_twice).start()
    with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
        run_tool([str(stubborn)], cwd=tmp_path, timeout=60)
    assert group_ended(int((tmp_path / "pid").read_text()))


def interrupt_as_kill_is_called() -> AbstractContextManager[list[bool]]:
    """A SIGINT sent just as the main thread calls a tool's kill."""
    kill = tools.kill_process.__code__
    return sigint_at(lambda frame, event: event == "call" and frame.f_code is kill)


@pytest.mark.parametrize(
    ("script", "timeout", "interrupted_first"),
    [
        # a second interrupt as a stubborn tool's tidy-up ends
        ("trap '' INT; while :; do sleep 0.1; done", 60, True),
        ("sleep 60", 1, False),  # an interrupt as a tool past its timeout is killed
    ],
    ids=["tidy-up-ends", "timed-out"],
)
def test_an_interrupt_just_as_a_tool_is_killed_waits_for_the_kill(
    tmp_path: Path, script: str, timeout: int, interrupted_first: bool
) -> None:
    tool = fake_tool(tmp_path, "tool", f"echo $$ > {tmp_path}/pid; {script}")
    if interrupted_first:
        threading.Thread(target=lambda: interrupt_once(tmp_path / "pid")).start()
    with (
        interrupt_as_kill_is_called() as sent,
        pytest.raises(KeyboardInterrupt),
        interrupt_stops_tools(),
    ):
        run_tool([str(tool)], cwd=tmp_path, timeout=timeout)
    assert sent
    assert group_ended(int((tmp_path / "pid").read_text()))


def interrupt_once(pid_file: Path) -> None:
    wait_for_file(pid_file)
    os.kill(os.getpid(), signal.SIGTERM)


def slow_tool(directory: Path) -> Path:
    """A tool that writes its pid, then finishes 20 s later (unless it is stopped first)."""
    return fake_tool(
        directory,
        "slow",
        f"echo $$ > {directory}/pid; sleep 20; touch {directory}/finished",
    )


def interrupt_in_another_thread(pid_file: Path) -> None:
    """A signal the kernel gives to a thread that is not the main one, as it may: Python runs
    the handler in the main thread, once that wakes."""

    def interrupt() -> None:
        wait_for_file(pid_file)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    threading.Thread(target=interrupt).start()


def test_an_interrupt_another_thread_receives_stops_the_tool_at_once(tmp_path: Path) -> None:
    slow = slow_tool(tmp_path)
    interrupt_in_another_thread(tmp_path / "pid")
    with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
        run_tool([str(slow)], cwd=tmp_path, timeout=60)
    assert not (tmp_path / "finished").exists()
    assert group_ended(int((tmp_path / "pid").read_text()))


def test_in_threads_an_interrupt_kills_the_threads_tools_at_once(tmp_path: Path) -> None:
    slow = slow_tool(tmp_path)
    interrupt_in_another_thread(tmp_path / "pid")
    with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
        interrupts.in_threads([lambda: run_tool([str(slow)], cwd=tmp_path, timeout=60)])
    assert not (tmp_path / "finished").exists()
    assert group_ended(int((tmp_path / "pid").read_text()))


def main_thread_waits_for_futures() -> bool:
    """In concurrent.futures.wait (not the wait for a thread's start, which submit does)."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "wait" and code.co_filename.endswith("futures/_base.py"):
            return True
        frame = frame.f_back
    return False


def test_in_threads_outlasts_further_interrupts_until_its_threads_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Had a second or third interrupt ended the wait, the block would end while a thread was
    still to start its tool, and nobody would stop that tool."""
    handled: list[int] = []
    real_handler = interrupts._interrupted

    def counted(signum: int, frame: object) -> None:
        handled.append(signum)
        real_handler(signum, frame)

    monkeypatch.setattr(interrupts, "_interrupted", counted)
    busy = busy_tool(tmp_path, tmp_path / "child.pid")
    go = threading.Event()
    outcomes: list[str] = []

    def late_tool() -> None:
        go.wait(timeout=30)
        try:
            run_tool([str(busy)], cwd=tmp_path, timeout=10)
        except ToolFailedError as error:
            outcomes.append(str(error))

    def interrupt_three_times() -> None:
        deadline = time.monotonic() + 30
        while not main_thread_waits_for_futures() and time.monotonic() < deadline:
            time.sleep(0.05)
        for count, signum in enumerate((signal.SIGTERM, signal.SIGINT, signal.SIGINT), 1):
            os.kill(os.getpid(), signum)
            deadline = time.monotonic() + 30
            while len(handled) < count and time.monotonic() < deadline:
                time.sleep(0.05)
        go.set()

    threading.Thread(target=interrupt_three_times).start()
    with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
        interrupts.in_threads([late_tool])
    assert handled == [signal.SIGTERM, signal.SIGINT, signal.SIGINT]
    assert outcomes == ["busy failed with exit code -9: no output"]  # killed as it started


def test_in_threads_an_interrupt_as_a_thread_starts_waits_for_that_thread(
    tmp_path: Path,
) -> None:
    """The signal lands as the pool starts its thread (while Thread.start waits for it)."""
    slow = slow_tool(tmp_path)
    outcomes: list[str] = []
    ended_work = threading.Event()

    def work() -> None:
        try:
            outcomes.append(run_tool([str(slow)], cwd=tmp_path, timeout=60).stdout)
        except ToolFailedError as error:
            outcomes.append(str(error))
        finally:
            ended_work.set()

    thread_start = threading.Thread.start.__code__

    def waits_as_a_thread_starts(frame: FrameType, event: str) -> bool:
        caller = frame.f_back
        starting = caller is not None and caller.f_code is thread_start
        return event == "call" and frame.f_code.co_name == "wait" and starting

    with (
        sigint_at(waits_as_a_thread_starts) as sent,
        pytest.raises(KeyboardInterrupt),
        interrupt_stops_tools(),
    ):
        interrupts.in_threads([work])
    assert sent
    assert ended_work.wait(timeout=30)
    assert outcomes == ["slow failed with exit code -9: no output"]  # killed as it started


def test_in_threads_leaves_the_output_of_a_killed_tool_unread(tmp_path: Path) -> None:
    """What the tool started in a session of its own holds its output open: once the tool
    itself is killed, the thread no longer waits for that output to end."""
    daemon_pid = tmp_path / "daemon.pid"
    leaves_a_daemon = fake_tool(
        tmp_path,
        "leaves-a-daemon",
        f"setsid sh -c 'echo $$ > {daemon_pid}; exec sleep 60' & echo $$ > {tmp_path}/pid; "
        "exec sleep 60",
    )
    outcomes: list[str] = []

    def work() -> None:
        try:
            outcomes.append(run_tool([str(leaves_a_daemon)], cwd=tmp_path, timeout=60).stdout)
        except ToolFailedError as error:
            outcomes.append(str(error))

    threading.Thread(target=lambda: interrupt_once(tmp_path / "pid")).start()
    try:
        with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
            interrupts.in_threads([work])
        assert outcomes == ["leaves-a-daemon was stopped by the interrupt"]
    finally:
        wait_for_file(daemon_pid)
        end(daemon_pid)


@pytest.mark.parametrize("change", [1, 3], ids=["as-they-are-set", "as-they-are-put-back"])
def test_a_signal_while_the_handlers_change_leaves_none_of_them_behind(change: int) -> None:
    """Landed just after the first handler is set, or the first is put back (a profile hook
    places it): both are put back, and nothing of the interrupt is left for the next block."""
    changes: list[bool] = []

    def after_the_change(frame: FrameType, event: str) -> bool:
        if event == "return" and frame.f_code is signal.signal.__code__:
            changes.append(True)
            return len(changes) == change
        return False

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with (
        sigint_at(after_the_change, profile=True) as sent,
        pytest.raises(KeyboardInterrupt),
        interrupt_stops_tools(),
    ):
        time.sleep(30 if change == 1 else 0)  # set: raised before this ends
    assert sent
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    assert interrupts._Interrupt() == interrupts._INTERRUPT


def test_a_tool_past_its_timeout_is_killed_with_what_it_started(tmp_path: Path) -> None:
    busy = busy_tool(tmp_path, tmp_path / "child.pid")
    with pytest.raises(ToolFailedError, match="busy did not finish within 1 s"):
        run_tool([str(busy)], cwd=tmp_path, timeout=1)
    assert ended(tmp_path / "child.pid")


def test_without_process_groups_a_tool_past_its_timeout_is_killed_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows: no process groups, no os.killpg; the tool itself is killed."""
    monkeypatch.setattr(tools, "PROCESS_GROUPS", False)
    monkeypatch.delattr(os, "killpg")
    sleeper = fake_tool(tmp_path, "sleeper", "exec sleep 60")
    with pytest.raises(ToolFailedError, match="sleeper did not finish within 1 s"):
        run_tool([str(sleeper)], cwd=tmp_path, timeout=1)


def test_an_interrupt_stops_the_tools_other_threads_wait_on(tmp_path: Path) -> None:
    """A cancelled run (SIGTERM here): a thread pool's worker gets no KeyboardInterrupt, and
    the pool would wait for its tool."""
    busy = busy_tool(tmp_path, tmp_path / "child.pid")
    failures: list[str] = []

    def work() -> None:
        try:
            run_tool([str(busy)], cwd=tmp_path, timeout=120)
        except ToolFailedError as error:
            failures.append(str(error))

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 30
    while not (tmp_path / "child.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the signal arrives here
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert failures == ["busy failed with exit code -9: no output"]
    assert ended(tmp_path / "child.pid")
    assert signal.getsignal(signal.SIGTERM) is handler  # put back


def test_an_interrupt_as_a_tool_starts_still_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interrupt lands between the tool's start and the moment run_tool knows it (round
    12 left 21 of 300 such tools running): it waits until the tool can be stopped."""
    busy = busy_tool(tmp_path, tmp_path / "child.pid")
    real_popen = subprocess.Popen
    started: list[int] = []

    def popen_then_interrupted(*args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        process = real_popen(*args, **kwargs)
        started.append(process.pid)
        os.kill(os.getpid(), signal.SIGTERM)  # handled here, before the tool is known
        return process

    monkeypatch.setattr(subprocess, "Popen", popen_then_interrupted)
    with pytest.raises(KeyboardInterrupt), interrupt_stops_tools():
        run_tool([str(busy)], cwd=tmp_path, timeout=60)
    assert group_ended(started[0])  # the tool's, with what it started


def test_a_tool_another_thread_starts_after_the_interrupt_is_killed(tmp_path: Path) -> None:
    """A worker that was just starting its tool as the interrupt came does not run it on."""
    busy = busy_tool(tmp_path, tmp_path / "child.pid")
    outcomes: list[str] = []

    def in_a_worker(tool: str) -> None:
        def work() -> None:
            try:
                outcomes.append(run_tool([tool], cwd=tmp_path, timeout=120).stdout)
            except ToolFailedError as error:
                outcomes.append(str(error))

        worker = threading.Thread(target=work)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive()

    with interrupt_stops_tools():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the signal arrives here
        in_a_worker(str(busy))
    assert ended(tmp_path / "child.pid")
    in_a_worker(str(fake_tool(tmp_path, "later", "echo ran")))  # the next action's tools run
    assert outcomes == ["busy failed with exit code -9: no output", "ran\n"]


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ("echo 'not json'; exit 1", "ruff printed a report that is not JSON"),
        ("echo '[]'; exit 1", "ruff exited 1 but reported no findings"),
        ("echo '{\"a\": 1}'; exit 1", "ruff report is not a list"),
    ],
)
def test_reports_are_read_not_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, problem: str
) -> None:
    ruff = fake_tool(tmp_path, "ruff", script)
    monkeypatch.setattr(lint_tools, "find_tool", lambda name, hint: str(ruff))
    with pytest.raises(ToolFailedError, match=problem):
        lint_tools.ruff_check(lint_tools.Target(tmp_path, tmp_path, 10))


def test_mypy_non_json_output_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mypy = fake_tool(tmp_path, "mypy", "echo 'mypy: error: unrecognized arguments'; exit 1")
    monkeypatch.setattr(lint_tools, "find_tool", lambda name, hint: str(mypy))
    with pytest.raises(ToolFailedError, match="mypy printed a line that is not JSON"):
        lint_tools.mypy(lint_tools.Target(tmp_path, tmp_path, 10), None)


def test_mypy_files_setting_is_found_in_each_config_file(tmp_path: Path) -> None:
    assert not lint_tools.mypy_has_files_setting(tmp_path)
    (tmp_path / "setup.cfg").write_text("[mypy]\nfiles = src\n")
    assert lint_tools.mypy_has_files_setting(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text("[tool.mypy]\nstrict = true\n")
    assert not lint_tools.mypy_has_files_setting(other)
    (other / "pyproject.toml").write_text("[tool.mypy]\nfiles = ['app']\n")
    assert lint_tools.mypy_has_files_setting(other)


def test_dockerfiles_are_found_outside_virtualenvs(tmp_path: Path) -> None:
    for name in (
        "Dockerfile",
        "deploy/Dockerfile.prod",
        "api.Dockerfile",
        ".venv/lib/Dockerfile",
        "Dockerfile-notes.md",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("FROM scratch\n")
    found = [p.relative_to(tmp_path).as_posix() for p in lint_tools.find_dockerfiles(tmp_path)]
    assert found == ["Dockerfile", "api.Dockerfile", "deploy/Dockerfile.prod"]


def test_interpreters_may_live_outside_the_workspace_and_keep_their_symlink(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / ".venv" / "bin").mkdir(parents=True)
    link = workspace / ".venv" / "bin" / "python"
    link.symlink_to(sys.executable)
    assert find_interpreter(".venv/bin/python", workspace) == link
    assert find_interpreter(sys.executable, workspace) == Path(sys.executable)
    assert find_interpreter("sh", workspace).name == "sh"


@pytest.mark.parametrize("value", ["no-such-python-here", "missing/bin/python"])
def test_a_missing_interpreter_is_bad_input(tmp_path: Path, value: str) -> None:
    with pytest.raises(InputError, match=f"input 'python' got '{value}'"):
        find_interpreter(value, tmp_path)
