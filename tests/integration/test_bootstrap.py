"""scripts/bootstrap: one environment per job and extra, made once, reused after."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.paths import ROOT

BOOTSTRAP = ROOT / "scripts" / "bootstrap"


def environment(home: Path, extras: str, path: str | None, env: dict[str, str]) -> dict[str, str]:
    """The environment of an action's step: none of this job's GitHub or shipline settings."""
    environ = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "INPUT_", "UV_", "SHIPLINE_"))
        },
        "SHIPLINE_HOME": str(home),
        "SHIPLINE_EXTRAS": extras,
        # the uv cache the dev environment was installed from, as a restored actions/cache would be
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
        **env,
    }
    environ["PATH"] = path or f"{Path(sys.executable).parent}:{environ['PATH']}"
    return environ


def bootstrap(
    home: Path,
    *args: str,
    extras: str = "lint",
    path: str | None = None,
    cwd: Path | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(BOOTSTRAP), *args],
        env=environment(home, extras, path, env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shipline-home")


def test_plan_before_and_after_the_environment_exists(home: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.write_text("")
    done = bootstrap(home, "--plan", GITHUB_OUTPUT=str(output))
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert lines["ready"] == "false"
    assert lines["cache-key"].startswith("shipline-uv-Linux-")
    assert lines["uv-cache"]

    done = bootstrap(home, "--exec", "lint", "--help")
    assert done.returncode == 0, done.stderr
    assert "--fail-on VALUE" in done.stdout

    output.write_text("")
    bootstrap(home, "--plan", GITHUB_OUTPUT=str(output))
    assert "ready=true" in output.read_text().splitlines()


def test_the_lint_environment_has_its_tools_and_no_scanners(home: Path) -> None:
    assert bootstrap(home, "--exec", "lint", "--help").returncode == 0
    (env,) = (home / "envs").glob("lint-*")
    for tool in ("ruff", "mypy", "hadolint", "zizmor", "shipline"):
        assert (env / "bin" / tool).exists(), tool
    for scanner in ("semgrep", "trivy"):
        assert not (env / "bin" / scanner).exists()


def test_a_warm_start_installs_nothing(home: Path, tmp_path: Path) -> None:
    assert bootstrap(home, "--exec", "lint", "--help").returncode == 0
    trap = tmp_path / "trap"
    trap.mkdir()
    for tool in ("uv", "pip"):
        (trap / tool).write_text('#!/bin/sh\necho "$0 must not run" >&2\nexit 99\n')
        (trap / tool).chmod(0o755)
    done = bootstrap(
        home,
        "--exec",
        "lint",
        "--help",
        path=f"{trap}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    assert done.returncode == 0, done.stderr
    assert "must not run" not in done.stderr


def test_setup_puts_the_environment_on_path(home: Path, tmp_path: Path) -> None:
    output, github_path = tmp_path / "out", tmp_path / "path"
    output.write_text("")
    github_path.write_text("")
    done = bootstrap(
        home, "--setup", extras="core", GITHUB_OUTPUT=str(output), GITHUB_PATH=str(github_path)
    )
    assert done.returncode == 0, done.stderr
    bin_dir = Path(github_path.read_text().strip())
    assert f"bin={bin_dir}" in output.read_text().splitlines()
    version = subprocess.run(
        [str(bin_dir / "shipline"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("shipline ")
    assert not (bin_dir / "ruff").exists()  # core carries no linters


def test_modules_of_the_workspace_are_not_imported_in_place_of_shipline_s(
    home: Path, tmp_path: Path
) -> None:
    """A step runs in the checkout: its yaml.py or shipline/ must not run as shipline's."""
    workspace = tmp_path / "workspace"
    (workspace / "shipline").mkdir(parents=True)
    hijack = "import sys; print('imported from the workspace'); sys.exit(0)\n"
    (workspace / "shipline" / "__main__.py").write_text(hijack)
    (workspace / "shipline" / "__init__.py").write_text(hijack)
    (workspace / "yaml.py").write_text(hijack)
    # a job's PYTHONPATH=. for its tests reaches the step too
    done = bootstrap(home, "--exec", "lint", "--help", cwd=workspace, PYTHONPATH=".")
    assert done.returncode == 0, done.stderr
    assert "--fail-on VALUE" in done.stdout
    (env,) = (home / "envs").glob("lint-*")
    version = subprocess.run(
        [str(env / "bin" / "shipline"), "--version"],
        cwd=workspace,
        env={**os.environ, "PYTHONPATH": str(workspace)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("shipline ")


def test_a_job_s_coverage_process_start_does_not_start_coverage_in_shipline(
    home: Path, tmp_path: Path
) -> None:
    # set for the project's subprocesses; coverage.py's .pth hook would read it in shipline too
    config = tmp_path / ".coveragerc"
    config.write_text(f"[run]\ndebug = config\ndebug_file = {tmp_path / 'debug.txt'}\n")
    done = bootstrap(
        home,
        "--exec",
        "test-matrix",
        "--help",
        extras="test",
        cwd=tmp_path,  # where a started coverage would write its data
        COVERAGE_PROCESS_START=str(config),
    )
    assert done.returncode == 0, done.stderr
    assert "--mode VALUE" in done.stdout
    assert not (tmp_path / "debug.txt").exists()
    (env,) = (home / "envs").glob("test-*")
    assert sorted(p.name for p in env.glob("lib/python*/site-packages/*.pth")) == [
        "shipline-checkout.pth"
    ]


def test_unknown_extras_are_refused_with_exit_2(home: Path) -> None:
    done = bootstrap(home, "--plan", extras="lint,everything", GITHUB_ACTIONS="true")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith(
        "::error title=shipline setup::SHIPLINE_EXTRAS got 'everything': expected one of "
    )
    offered = line.rsplit(" ", 1)[1].split(",")
    assert {"core", "lint"} <= set(offered)
    assert offered == sorted(p.stem for p in (ROOT / "requirements").glob("*.txt"))


def test_an_old_python_is_refused_clearly(home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = -c ]; then case "$2" in *platform*) echo 3.9.18;; *) exit 1;; esac; fi\n'
    )
    fake.chmod(0o755)
    done = bootstrap(tmp_path / "fresh-home", "--exec", "lint", SHIPLINE_PYTHON=str(fake))
    assert done.returncode == 2
    assert "is Python 3.9.18: shipline needs >= 3.11" in done.stderr


def test_without_sha256sum_shasum_names_the_same_environment(home: Path, tmp_path: Path) -> None:
    """macOS runners have shasum, not coreutils' sha256sum: the cache key must not change."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "cat", "cut", "dirname", "readlink", "uname", "ls", "sed", "paste", "env"):
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)
    (tools / "python3").symlink_to(sys.executable)
    shasum = tools / "shasum"  # as macOS's: `shasum -a 256` prints what sha256sum prints
    shasum.write_text(
        f'#!/bin/sh\n[ "$1 $2" = "-a 256" ] || exit 9\nexec {shutil.which("sha256sum")}\n'
    )
    shasum.chmod(0o755)
    keys = []
    for path in (str(tools), f"{tools}:{os.environ['PATH']}"):
        output = tmp_path / "out"
        output.write_text("")
        done = bootstrap(home, "--plan", path=path, GITHUB_OUTPUT=str(output))
        assert done.returncode == 0, done.stderr
        keys.append(
            dict(line.split("=", 1) for line in output.read_text().splitlines())["cache-key"]
        )
    assert keys[0] == keys[1]


HANGING_TEST = """\
import os
import time
from pathlib import Path

import pytest


@pytest.fixture
def resource():
    marks = Path(os.environ["MARKS"])
    (marks / "started").touch()
    yield
    (marks / "torn-down").touch()


def test_hangs(resource):
    time.sleep(120)
"""


def test_a_cancelled_step_s_signal_reaches_shipline_which_tears_the_tests_down(
    home: Path, tmp_path: Path
) -> None:
    """What the runner does when a run is cancelled (actions/runner, ProcessInvoker): SIGINT to
    the step's own process, which runs the action's step script with bash; SIGTERM 7.5 s later,
    then the whole tree is killed. A bash waiting on a child forwards neither signal."""
    action = yaml.safe_load((ROOT / "actions" / "test-matrix" / "action.yml").read_text())
    script = tmp_path / "step.sh"
    script.write_text(action["runs"]["steps"][-1]["run"] + "\n")
    workspace, marks = tmp_path / "ws", tmp_path / "marks"
    (workspace / "proj" / "tests").mkdir(parents=True)
    (workspace / "proj" / "tests" / "test_hang.py").write_text(HANGING_TEST)
    marks.mkdir()
    settings = {
        "GITHUB_ACTION_PATH": str(ROOT / "actions" / "test-matrix"),
        "GITHUB_WORKSPACE": str(workspace),
        "MARKS": str(marks),
        "INPUT_MODE": "run",
        "INPUT_PATH": "proj",
        "INPUT_SHARDS": "1",
        "INPUT_SHARD": "1",
        "INPUT_PYTHON": sys.executable,
    }
    with (tmp_path / "log").open("w") as log:
        step = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script)],
            env=environment(home, "test", None, settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240  # the first start makes the test environment
        while not (marks / "started").exists() and step.poll() is None:
            assert time.monotonic() < deadline, (tmp_path / "log").read_text()
            time.sleep(0.1)
        os.kill(step.pid, signal.SIGINT)
        assert step.wait(timeout=7.5) == 130, (tmp_path / "log").read_text()
    finally:
        if step.poll() is None:
            os.killpg(step.pid, signal.SIGKILL)  # the runner kills the tree
            step.wait()
    assert (marks / "torn-down").exists()
