"""Fail-closed adapters and the trivy DB download, driven by stand-in executables.

The real scanners run in tests/integration; here a small script plays a scanner that
crashes, hangs, lies with its exit code or writes garbage, which the real ones will not
do on demand.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipline.errors import ToolFailedError, ToolMissingError
from shipline.scan import reports, scanners
from tests.support.trivydb import write_trivy_db


def fake_tool(directory: Path, body: str, name: str = "trivy") -> str:
    """An executable shell script; ``$OUT`` is the value after --output/--json-output."""
    script = directory / name
    script.write_text(
        "#!/bin/sh\n"
        'OUT=""; prev=""\n'
        'for arg in "$@"; do case "$prev" in --output|--json-output) OUT="$arg";; esac; prev="$arg"; done\n'
        + body
        + "\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def target(tmp_path: Path, timeout: float = 20) -> scanners.ScanTarget:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return scanners.ScanTarget(project, tmp_path, timeout, reports.rebaser(tmp_path, project))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("exit 0", "semgrep exited 0 without writing its report"),
        ("echo 'not json' > \"$OUT\"; exit 0", "semgrep wrote a report that is not JSON"),
        (
            'echo \'{"errors": []}\' > "$OUT"; exit 0',
            "semgrep report: semgrep report has no results",
        ),
        (
            "echo 'Fatal error: out of memory' >&2; exit 2",
            "semgrep exited 2 without writing its report: Fatal error: out of memory",
        ),
        (
            'echo \'{"results": [], "errors": [{"level": "error", "type": "Rule parse error", "message": "bad"}]}\' > "$OUT"; exit 0',
            "semgrep reported an error: Rule parse error: bad",
        ),
        (
            'echo \'{"results": [], "errors": []}\' > "$OUT"; echo "killed" >&2; exit 3',
            "semgrep exited 3: killed",
        ),
        ("sleep 5", "semgrep did not finish within 1 s"),
    ],
)
def test_semgrep_that_cannot_check_blocks_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, reason: str
) -> None:
    monkeypatch.setattr(
        scanners, "find_tool", lambda name, hint: fake_tool(tmp_path, body, "semgrep")
    )
    with pytest.raises(ToolFailedError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        scanners.semgrep(
            target(tmp_path, timeout=1 if "sleep" in body else 20), [scanners.SHIPPED_RULES]
        )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("exit 0", "trivy fs exited 0 without writing its report"),
        ("printf '' > \"$OUT\"; exit 0", "trivy fs wrote a report that is not JSON"),
        (
            'echo \'{"SchemaVersion": 3}\' > "$OUT"',
            "trivy fs report: trivy report has schema version 3",
        ),
        ("echo 'FATAL scan error' >&2; exit 1", "trivy failed with exit code 1: FATAL scan error"),
    ],
)
def test_trivy_that_cannot_check_blocks_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, reason: str
) -> None:
    monkeypatch.setattr(scanners, "find_tool", lambda name, hint: fake_tool(tmp_path, body))
    with pytest.raises(ToolFailedError, match=reason):
        scanners.trivy_fs(target(tmp_path), ["vuln"], tmp_path / "cache")


def test_a_missing_scanner_is_reported_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("shipline.tools.sys.executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        ToolMissingError, match=r"semgrep is not installed: it ships with shipline's scan extra"
    ):
        scanners.semgrep(target(tmp_path), [scanners.SHIPPED_RULES])


# --- the vulnerability database -------------------------------------------------------


def downloader(tmp_path: Path, failures: int, message: str) -> str:
    """A trivy stand-in that fails ``failures`` times with ``message``, then writes a DB."""
    counter = tmp_path / "attempts"
    counter.write_text("0")
    return fake_tool(
        tmp_path,
        f"n=$(cat {counter}); n=$((n+1)); echo $n > {counter}\n"
        f'if [ $n -le {failures} ]; then echo "{message}" >&2; exit 1; fi\n'
        'cache=""; prev=""; for arg in "$@"; do [ "$prev" = "--cache-dir" ] && cache="$arg"; prev="$arg"; done\n'
        'echo "$@" > "$cache/args"\n'
        'mkdir -p "$cache/db" && echo db > "$cache/db/trivy.db" && '
        'echo \'{"Version": 2, "NextUpdate": "2999-01-01T00:00:00Z"}\' > "$cache/db/metadata.json"',
    )


def test_transient_download_failures_are_retried_with_growing_jittered_waits(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    waits: list[float] = []
    logged: list[str] = []
    trivy = downloader(
        tmp_path, 2, "GET https://mirror.gcr.io/v2/: TOOMANYREQUESTS: rate exceeded (429)"
    )
    attempts = scanners.download_db(
        cache,
        ["mirror.example.com/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"],
        scanners.Backoff(attempts=4, base=2.0),
        30,
        log=logged.append,
        sleep=waits.append,
        trivy=trivy,
    )
    assert attempts == 3
    assert len(waits) == 2 and 0 <= waits[0] <= 2.0 and 0 <= waits[1] <= 4.0
    assert "attempt 1/4 failed" in logged[0] and "TOOMANYREQUESTS" in logged[0]
    args = (cache / "args").read_text()
    assert "--download-db-only" in args
    assert "--db-repository mirror.example.com/trivy-db:2,ghcr.io/aquasecurity/trivy-db:2" in args
    assert scanners.db_status(cache).fresh


def test_a_failure_that_will_not_heal_is_not_retried(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    waits: list[float] = []
    trivy = downloader(
        tmp_path,
        9,
        "GET https://registry.example.com/v2/trivy-db/manifests/2: UNAUTHORIZED: authentication required (401)",
    )
    with pytest.raises(
        ToolFailedError,
        match=r"could not download the trivy vulnerability database: .*UNAUTHORIZED",
    ):
        scanners.download_db(
            cache, [], scanners.Backoff(attempts=4), 30, log=print, sleep=waits.append, trivy=trivy
        )
    assert waits == []
    assert (tmp_path / "attempts").read_text().strip() == "1"


def test_retries_are_bounded(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    waits: list[float] = []
    trivy = downloader(tmp_path, 9, "connection reset by peer")
    with pytest.raises(ToolFailedError, match="connection reset by peer"):
        scanners.download_db(
            cache,
            [],
            scanners.Backoff(attempts=3, base=100, cap=5),
            30,
            log=print,
            sleep=waits.append,
            trivy=trivy,
        )
    assert (tmp_path / "attempts").read_text().strip() == "3"
    assert len(waits) == 2 and all(0 <= w <= 5 for w in waits)


def test_db_status_reads_trivy_metadata(tmp_path: Path) -> None:
    assert scanners.db_status(tmp_path) == scanners.DbStatus(False, False)
    write_trivy_db(tmp_path)
    status = scanners.db_status(tmp_path)
    assert status.present and status.fresh
    metadata = tmp_path / "db" / "metadata.json"
    metadata.write_text(
        json.dumps({**json.loads(metadata.read_text()), "NextUpdate": "2020-01-01T00:00:00Z"})
    )
    assert scanners.db_status(tmp_path) == scanners.DbStatus(True, False, status.updated_at)
    assert scanners.db_cache_key(datetime(2026, 3, 4, 23, 59, tzinfo=UTC)) == "trivy-db-2026-03-04"
