"""The service under test, over real HTTP.

With SERVICE_URL set (main CI points it at the freshly built container) the tests target that
service; otherwise the session starts `uvicorn app.main:app` on a free loopback port.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.openapi_checks import SERVICE_ROOT

STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 10.0
LOCAL_VERSION = "integration-test"
LOCAL_GIT_SHA = "0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Service:
    base_url: str
    # Known only when this session started the service; a remote one reports its own build.
    expected_version: str | None
    expected_git_sha: str | None


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{base_url}/healthz not healthy after {STARTUP_TIMEOUT_S}s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SHUTDOWN_TIMEOUT_S)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    remote = os.environ.get("SERVICE_URL", "").rstrip("/")
    if remote:
        yield Service(remote, expected_version=None, expected_git_sha=None)
        return

    port = _free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    env = {**os.environ, "APP_VERSION": LOCAL_VERSION, "GIT_SHA": LOCAL_GIT_SHA}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    # A file, not a pipe, takes the server's output: nobody reads a pipe until it fills and blocks.
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=SERVICE_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(process, base_url, log)
        yield Service(base_url, expected_version=LOCAL_VERSION, expected_git_sha=LOCAL_GIT_SHA)
    finally:
        _stop(process)


@pytest.fixture
def http(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.base_url, timeout=10.0) as client:
        yield client
