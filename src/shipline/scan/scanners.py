"""Adapters: run semgrep and trivy offline-capable, read their reports, never their exit codes.

Each scanner writes its report to a file we name; a missing, empty or unreadable report is
a failed run whatever the exit code said.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipline.errors import ToolFailedError
from shipline.findings import Finding
from shipline.lint.tools import SKIP_DIRS
from shipline.scan.reports import Rebase, ReportError, image_config, semgrep_json, trivy_json
from shipline.tools import ToolResult, find_tool, run_tool

INSTALL_HINT = "it ships with shipline's scan extra: pip install 'shipline[scan]'"
SHIPPED_RULES = Path(__file__).with_name("rules")

# trivy never reaches for the network unless we ask it to download the database.
TRIVY_OFFLINE_FLAGS = (
    "--skip-db-update",
    "--skip-check-update",
    "--skip-version-check",
    "--disable-telemetry",
    "--offline-scan",
)
# Messages of registry answers that another attempt will not change.
_PERMANENT_FAILURE = re.compile(
    r"\b(401|403|404)\b|unauthori[sz]ed|denied|forbidden|manifest unknown|name unknown|not found",
    re.IGNORECASE,
)
_TRANSIENT_FAILURE = re.compile(
    r"\b(429|5\d\d)\b|toomanyrequests|rate limit|timeout|reset by peer|EOF", re.IGNORECASE
)


@dataclass(frozen=True)
class ScanTarget:
    project: Path
    workspace: Path
    timeout: float
    rebase: Rebase


def _read_report(path: Path, tool: str, result: ToolResult) -> Any:
    """The report file, which must exist and be JSON whatever the exit code was."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ToolFailedError(
            f"{tool} exited {result.returncode} without writing its report: {result.tail()}"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ToolFailedError(f"{tool} wrote a report that is not JSON: {text[:200]!r}") from None


def semgrep(target: ScanTarget, rule_paths: Sequence[Path]) -> list[Finding]:
    exe = find_tool("semgrep", INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="shipline-semgrep-") as scratch:
        report_path = Path(scratch) / "semgrep.json"
        args = [exe, "scan", "--metrics=off", "--disable-version-check", "--quiet"]
        for rules in rule_paths:
            args += ["--config", str(rules)]
        args += [
            "--json-output",
            str(report_path),
            "--timeout",
            str(max(1, int(target.timeout))),
            ".",
        ]
        # Any exit code is read against the report: semgrep explains its failures there.
        result = run_tool(args, cwd=target.project, timeout=target.timeout, ok_codes=range(256))
        report = _read_report(report_path, "semgrep", result)
    try:
        findings, errors = semgrep_json(report, target.rebase)
    except ReportError as error:
        raise ToolFailedError(f"semgrep report: {error}") from None
    if errors:
        raise ToolFailedError(f"semgrep reported an error: {errors[0]}")
    if result.returncode not in (0, 1):  # 0: scanned; 1: findings under --error
        raise ToolFailedError(f"semgrep exited {result.returncode}: {result.tail()}")
    return findings


def trivy_fs(target: ScanTarget, scanners: Sequence[str], cache_dir: Path) -> list[Finding]:
    """One ``trivy fs`` run for the selected scanners (vuln over lock files, secret, misconfig)."""
    exe = find_tool("trivy", INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="shipline-trivy-") as scratch:
        report_path = Path(scratch) / "trivy.json"
        args = [
            exe, "fs", *TRIVY_OFFLINE_FLAGS, "--cache-dir", str(cache_dir),
            "--scanners", ",".join(scanners), "--format", "json", "--output", str(report_path),
            "--timeout", f"{max(1, int(target.timeout))}s", "--exit-code", "0",
            *(f"--skip-dirs=**/{name}" for name in sorted(SKIP_DIRS)), ".",
        ]  # fmt: skip
        result = run_tool(args, cwd=target.project, timeout=target.timeout)
        report = _read_report(report_path, "trivy fs", result)
    try:
        return trivy_json(report, target.rebase)
    except ReportError as error:
        raise ToolFailedError(f"trivy fs report: {error}") from None


@dataclass(frozen=True)
class ImageScan:
    findings: list[Finding]
    config: dict[str, Any] | None


def trivy_image(
    target: ScanTarget, image: str, archive: Path | None, cache_dir: Path, secrets: bool
) -> ImageScan:
    """``trivy image`` by registry reference, or ``--input`` for an OCI layout or docker archive."""
    exe = find_tool("trivy", INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="shipline-trivy-image-") as scratch:
        report_path = Path(scratch) / "trivy-image.json"
        args = [
            exe, "image", *TRIVY_OFFLINE_FLAGS, "--cache-dir", str(cache_dir),
            "--scanners", "vuln,secret" if secrets else "vuln", "--format", "json",
            "--output", str(report_path), "--timeout", f"{max(1, int(target.timeout))}s", "--exit-code", "0",
        ]  # fmt: skip
        args += ["--input", str(archive)] if archive is not None else [image]
        result = run_tool(args, cwd=target.workspace, timeout=target.timeout)
        report = _read_report(report_path, "trivy image", result)
    try:
        return ImageScan(trivy_json(report, target.rebase, image=True), image_config(report))
    except ReportError as error:
        raise ToolFailedError(f"trivy image report: {error}") from None


# --- the vulnerability database ---------------------------------------------------------


@dataclass(frozen=True)
class DbStatus:
    present: bool
    fresh: bool
    updated_at: str | None = None


def db_status(cache_dir: Path, now: datetime | None = None) -> DbStatus:
    """Whether ``cache_dir`` holds a trivy DB, and whether trivy would consider it current."""
    metadata_path = cache_dir / "db" / "metadata.json"
    if not (cache_dir / "db" / "trivy.db").is_file() or not metadata_path.is_file():
        return DbStatus(False, False)
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        next_update = datetime.fromisoformat(str(metadata["NextUpdate"]).replace("Z", "+00:00"))
    except (OSError, ValueError, KeyError, TypeError):
        return DbStatus(True, False)
    moment = now or datetime.now(UTC)
    return DbStatus(True, next_update > moment, metadata.get("UpdatedAt"))


@dataclass(frozen=True)
class Backoff:
    attempts: int = 4
    base: float = 2.0
    cap: float = 60.0

    def delay(self, attempt: int) -> float:
        """Full jitter: a random wait up to base * 2^(attempt-1), capped."""
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))  # noqa: S311 - jitter, not crypto


def download_db(
    cache_dir: Path,
    repositories: Sequence[str],
    backoff: Backoff,
    timeout: float,
    *,
    log: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    trivy: str | None = None,
) -> int:
    """Downloads the DB into ``cache_dir``, retrying transient failures; returns attempts used.

    trivy already falls back across the repositories it is given; we retry the whole
    download with jittered exponential backoff, and stop at once on an answer that will
    not heal (authentication, a repository that does not exist).
    """
    exe = trivy or find_tool("trivy", INSTALL_HINT)
    args = [
        exe,
        "image",
        "--download-db-only",
        "--skip-version-check",
        "--disable-telemetry",
        "--cache-dir",
        str(cache_dir),
    ]
    if repositories:
        args += ["--db-repository", ",".join(repositories)]
    last_error = ""
    for attempt in range(1, backoff.attempts + 1):
        try:
            run_tool(args, cwd=cache_dir.parent, timeout=timeout)
        except ToolFailedError as error:
            last_error = str(error)
        else:
            if db_status(cache_dir).present:
                return attempt
            last_error = "trivy reported success but wrote no database"
        permanent = _PERMANENT_FAILURE.search(last_error) and not _TRANSIENT_FAILURE.search(
            last_error
        )
        if permanent or attempt == backoff.attempts:
            break
        wait = backoff.delay(attempt)
        log(
            f"trivy DB download attempt {attempt}/{backoff.attempts} failed ({last_error}); retrying in {wait:.1f} s"
        )
        sleep(wait)
    raise ToolFailedError(f"could not download the trivy vulnerability database: {last_error}")


def db_cache_key(now: datetime | None = None) -> str:
    """The key to cache the DB under with actions/cache: one download a day per runner OS."""
    return f"trivy-db-{(now or datetime.now(UTC)).strftime('%Y-%m-%d')}"
