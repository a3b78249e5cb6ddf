"""The main job: the whole pipeline on examples/fastapi-service, under act, with local parts.

    python scripts/main_job.py [--keep]

Starts what a hosted run would find on the network, all on this machine: a loopback
registry (Debian's docker-registry) holding a locally made Python base image, a bare
GitOps config repository whose staging overlay pins the previous release, and a trivy DB
of real published advisories (none of which affect the example's pins). Then it runs
.github/workflows/selftest-pipeline.yml, which calls the reusable pipeline: lint, unit
tests, build and push by digest, integration tests against the running image, security
gates, keyless signing with shipline's UNTRUSTED local Sigstore instance, the one-line bump
of the config repository, and the deploy gate's signature check. Prints every job summary,
the jobs' results and the config repository's new commit; exits with act's exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import actrun  # noqa: E402

from tests.support.baseimage import push_base_image  # noqa: E402
from tests.support.registry import LocalRegistry  # noqa: E402
from tests.support.trivydb import cached_trivy_db  # noqa: E402

WORKFLOW = ROOT / ".github" / "workflows" / "selftest-pipeline.yml"
CONFIG_FILE = "apps/orders/overlays/staging/kustomization.yaml"
PREVIOUS_DIGEST = "sha256:" + "0" * 64


def config_repository(bare: Path, registry_host: str) -> None:
    """A GitOps repo whose staging overlay pins the previous release of the service."""
    seed = bare.parent / "config-seed"
    shutil.rmtree(seed, ignore_errors=True)
    shutil.rmtree(bare, ignore_errors=True)
    overlay = seed / CONFIG_FILE
    overlay.parent.mkdir(parents=True)
    overlay.write_text(
        "# Staging overlay of the orders service; the pipeline bumps the digest below.\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n"
        "  - ../../base\n"
        "images:\n"
        "  - name: orders   # the name the base manifests use\n"
        f"    newName: {registry_host}/shop/orders\n"
        f"    digest: {PREVIOUS_DIGEST}   # the release in staging\n"
    )
    git = ["git", "-c", "user.name=platform", "-c", "user.email=platform@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
    subprocess.run([*git, "-C", str(seed), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(seed), "commit", "-qm", "staging: orders"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    shutil.rmtree(seed)


def stop_local_sigstore(state: Path) -> None:
    pid_file = state / "serve.pid"
    if pid_file.is_file():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        pid_file.unlink()


@dataclass(frozen=True)
class PipelineRun:
    result: actrun.ActResult
    config_commit: str  # `git log -1 -p` of the config repository's main branch


def run_local_pipeline(work: Path) -> PipelineRun:
    """Start the local parts under ``work``, run the pipeline under act, stop the parts."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sigstore_state = work / "sigstore"
    environment = {
        "SHIPLINE_HOME": str(ROOT / ".cache" / "shipline-act"),
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
        # buildah and podman keep their credentials here, never in the user's home
        "REGISTRY_AUTH_FILE": str(work / "auth.json"),
    }
    (work / "auth.json").write_text('{"auths": {}}\n')
    with LocalRegistry(work / "registry") as registry:
        print(f"main-job: registry on {registry.url}", flush=True)
        base = push_base_image(registry.host, {**os.environ, **environment})
        print(f"main-job: base image {base}", flush=True)
        config = work / "config.git"
        config_repository(config, registry.host)
        trivy_db = cached_trivy_db(ROOT / ".cache" / "trivy-db")
        try:
            result = actrun.run_workflow(
                WORKFLOW,
                "workflow_dispatch",
                inputs={
                    "registry": registry.host,
                    "base-image": base,
                    "config-repository": str(config),
                    "trivy-db": str(trivy_db),
                    "sigstore-state": str(sigstore_state),
                },
                env=environment,
                timeout=1800,
                # jobs of a called workflow report no outputs anyway; results come from the log
                capture_outputs=False,
            )
        finally:
            stop_local_sigstore(sigstore_state)
    change = subprocess.run(
        ["git", "--git-dir", str(config), "log", "-1", "-p", "--format=%h %s%n%n%b", "main"],
        capture_output=True,
        text=True,
        check=False,
    )
    return PipelineRun(result, change.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="keep .cache/main-job for inspection")
    args = parser.parse_args()
    work = ROOT / ".cache" / "main-job"
    run = run_local_pipeline(work)
    result = run.result
    for job in result.jobs.values():
        if job.summary.strip():
            print(f"--- job summary of {job.key} ---\n{job.summary.strip()}\n")
    for job in result.jobs.values():
        for step in job.steps:
            if step.result == "failure" and step.output:
                tail = "".join(
                    line if line.endswith("\n") else f"{line}\n" for line in step.output[-40:]
                )
                print(f"--- {job.key}: step {step.id} failed; its last lines ---\n{tail}")
    print(result.report())
    print(f"--- the config repository's newest commit ---\n{run.config_commit}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
