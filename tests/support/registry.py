"""A real OCI registry (Debian's docker-registry, distribution 2.8) on loopback, for tests.

Never started through its Debian service, which listens on every interface: each instance
gets a config file binding 127.0.0.1 on a free port and a storage root in a temp dir.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

READY_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalRegistry:
    """``with LocalRegistry(tmp) as reg: reg.host`` -> ``127.0.0.1:PORT``."""

    root: Path
    username: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalRegistry:
        self.root.mkdir(parents=True, exist_ok=True)
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {
                "filesystem": {"rootdirectory": str(self.root / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host},
        }
        if self.username is not None and self.password is not None:
            htpasswd = self.root / "htpasswd"
            made = subprocess.run(
                ["htpasswd", "-Bbn", self.username, self.password],
                capture_output=True,
                text=True,
                check=True,
            )
            htpasswd.write_text(made.stdout)
            config["auth"] = {"htpasswd": {"realm": "shipline-tests", "path": str(htpasswd)}}
        config_file = self.root / "config.yml"
        config_file.write_text(yaml.safe_dump(config))
        binary = shutil.which("docker-registry")
        if binary is None:
            raise RuntimeError(
                "docker-registry is not installed: apt-get install docker-registry (scripts/setup-dev does)"
            )
        log = (self.root / "registry.log").open("wb")
        self._process = subprocess.Popen(
            [binary, "serve", str(config_file)], stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"docker-registry exited: {(self.root / 'registry.log').read_text()}"
                )
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1)  # noqa: S310 (loopback URL we built)
                return
            except urllib.error.HTTPError as error:
                if error.code == 401:  # up, and asking for credentials
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not answer on {self.url} within {READY_TIMEOUT} s")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
