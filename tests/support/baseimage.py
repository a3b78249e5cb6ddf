"""A local Python base image for build tests, since Docker Hub is out of reach here.

``mmdebstrap --variant=minbase`` makes a Debian bookworm root file system with python3 and
pip (about 40 s); ``buildah from scratch`` + ``add`` + ``commit`` turns it into an image
(about 13 s). Both are cached between runs: the tarball under ``.cache/baseimage/`` and the
image in buildah's store, keyed by the package list. python3-venv is not needed: the
example's Dockerfile makes its venv ``--without-pip`` and installs with the base's pip.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / ".cache" / "baseimage"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-pip")
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REGISTRY_REPOSITORY = "base/python"
BUILD_TIMEOUT = 900


def cache_key() -> str:
    return hashlib.sha256(f"{SUITE} {' '.join(PACKAGES)} minbase".encode()).hexdigest()[:12]


def local_name() -> str:
    return f"localhost/shipline-test/python-base:{SUITE}-{cache_key()}"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"{name} is not installed: apt-get install {name} (scripts/setup-dev does)"
        )
    return found


@contextmanager
def _locked() -> Iterator[None]:
    """One maker at a time (pytest-xdist workers share the cache)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def rootfs_tarball() -> Path:
    tarball = CACHE_DIR / f"rootfs-{SUITE}-{cache_key()}.tar"
    if tarball.is_file():
        return tarball
    partial = tarball.with_suffix(".partial.tar")
    subprocess.run(
        [
            _tool("mmdebstrap"),
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            "--quiet",
            SUITE,
            str(partial),
        ],
        check=True,
        timeout=BUILD_TIMEOUT,
        capture_output=True,
    )
    partial.rename(tarball)
    return tarball


def _image_exists(buildah: str, name: str, env: Mapping[str, str] | None) -> bool:
    probe = subprocess.run(
        [buildah, "inspect", "--type", "image", name], capture_output=True, check=False, env=env
    )
    return probe.returncode == 0


def ensure_local_image(env: Mapping[str, str] | None = None) -> str:
    """The base image in buildah's store (made from the cached tarball if missing)."""
    buildah = _tool("buildah")
    name = local_name()
    with _locked():
        if _image_exists(buildah, name, env):
            return name
        tarball = rootfs_tarball()
        container = subprocess.run(
            [buildah, "from", "scratch"], capture_output=True, text=True, check=True, env=env
        ).stdout.strip()
        try:
            subprocess.run(
                [buildah, "add", container, str(tarball), "/"],
                capture_output=True,
                check=True,
                env=env,
            )
            subprocess.run(
                [buildah, "config", "--env", f"PATH={SEARCH_PATH}", "--cmd", "python3", container],
                capture_output=True,
                check=True,
                env=env,
            )
            subprocess.run(
                [buildah, "commit", "--rm", container, name],
                capture_output=True,
                check=True,
                env=env,
            )
        except BaseException:
            subprocess.run([buildah, "rm", container], capture_output=True, check=False, env=env)
            raise
    return name


def push_base_image(registry_host: str, env: Mapping[str, str] | None = None) -> str:
    """Push the base to a loopback registry; returns the reference for ``BASE_IMAGE``."""
    name = ensure_local_image(env)
    target = f"{registry_host}/{REGISTRY_REPOSITORY}:{SUITE}"
    subprocess.run(
        [_tool("buildah"), "push", "--tls-verify=false", name, f"docker://{target}"],
        capture_output=True,
        check=True,
        env=env,
        timeout=BUILD_TIMEOUT,
    )
    return target


if __name__ == "__main__":
    # python -m tests.support.baseimage 127.0.0.1:PORT  -> prints the BASE_IMAGE reference
    import sys

    print(push_base_image(sys.argv[1]))
