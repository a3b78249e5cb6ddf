"""Normalisation of real scanner reports (recorded from semgrep 1.185 and trivy 0.76 runs)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shipline.findings import Level, Location, Severity
from shipline.scan import reports
from shipline.scan.reports import ReportError

REPORTS = Path(__file__).resolve().parent.parent / "data" / "scan" / "reports"
WORKSPACE = Path("/ws")


def load(name: str) -> Any:
    return json.loads((REPORTS / name).read_text())


def rebase(path: str) -> str:
    return reports.rebaser(WORKSPACE, WORKSPACE / "service")(path)


SEMGREP_EXPECTED = {
    ("debug-mode-enabled", 13, Severity.MEDIUM),
    ("hard-coded-secret", 15, Severity.HIGH),
    ("subprocess-shell-true", 20, Severity.HIGH),
    ("os-command-injection", 25, Severity.HIGH),
    ("unsafe-deserialisation-pickle", 30, Severity.CRITICAL),
    ("yaml-unsafe-load", 35, Severity.HIGH),
    ("sql-string-formatting", 41, Severity.HIGH),
    ("sql-string-formatting", 47, Severity.HIGH),
    ("weak-hash", 52, Severity.MEDIUM),
    ("tls-verification-disabled", 57, Severity.HIGH),
    ("code-injection-eval", 62, Severity.HIGH),
    ("bind-all-interfaces", 80, Severity.LOW),
    ("debug-mode-enabled", 80, Severity.MEDIUM),
}


def test_semgrep_json_keeps_rule_ids_lines_and_severities() -> None:
    findings, errors = reports.semgrep_json(load("semgrep.json"), rebase)
    assert errors == []
    assert {
        (f.rule_id, f.location.line if f.location else 0, f.severity) for f in findings
    } == SEMGREP_EXPECTED
    pickle = next(f for f in findings if f.rule_id == "unsafe-deserialisation-pickle")
    assert pickle.location == Location("service/app/main.py", 30, 30, 12, 30)
    assert pickle.level is Level.ERROR
    assert all(f.tool == "semgrep" for f in findings)


def test_semgrep_sarif_gives_the_same_findings_with_severity_from_level() -> None:
    """semgrep's SARIF has no security-severity: CRITICAL and HIGH both come out as error."""
    from_sarif = reports.semgrep_sarif(load("semgrep.sarif"), rebase)
    from_json, _ = reports.semgrep_json(load("semgrep.json"), rebase)
    assert Counter((f.rule_id, f.location) for f in from_sarif) == Counter(
        (f.rule_id, f.location) for f in from_json
    )
    levels = {f.rule_id: f.severity for f in from_sarif}
    assert levels["unsafe-deserialisation-pickle"] is Severity.HIGH
    assert levels["weak-hash"] is Severity.MEDIUM
    assert levels["bind-all-interfaces"] is Severity.LOW


def test_semgrep_rule_errors_are_reported_not_ignored() -> None:
    findings, errors = reports.semgrep_json(load("semgrep-rule-error.json"), rebase)
    assert findings == []
    assert len(errors) == 1 and errors[0].startswith(
        "Rule parse error: Rule parse error in rule tmp.badrule.broken"
    )


def test_trivy_fs_report_gives_vulnerabilities_secrets_and_failed_checks() -> None:
    findings = reports.trivy_json(load("trivy-fs.json"), rebase)
    by_tool = Counter(f.tool for f in findings)
    assert by_tool == {"trivy-sca": 3, "trivy-secret": 1, "trivy-misconfig": 3}
    pyyaml = next(f for f in findings if f.rule_id == "CVE-2020-14343")
    assert (pyyaml.package, pyyaml.installed_version, pyyaml.fixed_version) == (
        "pyyaml",
        "5.3.1",
        "5.4",
    )
    assert pyyaml.severity is Severity.CRITICAL and pyyaml.location == Location(
        "service/requirements.txt"
    )
    secret = next(f for f in findings if f.tool == "trivy-secret")
    assert (secret.rule_id, secret.location, secret.severity) == (
        "github-pat",
        Location("service/app/main.py", 15, 15),
        Severity.CRITICAL,
    )
    assert "ghp_" not in secret.message and "****" not in secret.message
    latest = next(f for f in findings if f.rule_id == "DS-0001")
    assert (
        latest.location == Location("service/Dockerfile", 1, 1)
        and latest.severity is Severity.MEDIUM
    )


def test_trivy_config_report_keeps_only_failures_with_their_lines() -> None:
    findings = reports.trivy_json(load("trivy-config-k8s.json"), rebase)
    document = load("trivy-config-k8s.json")
    failures = sum(r["MisconfSummary"]["Failures"] for r in document["Results"])
    assert len(findings) == failures == 37
    privileged = next(f for f in findings if f.rule_id == "KSV-0017")
    assert privileged.location is not None and privileged.location.path == "service/bad.yaml"
    assert privileged.location.line == 17 and privileged.severity is Severity.HIGH


def test_trivy_image_report_names_package_paths_inside_the_image_and_its_config() -> None:
    document = load("trivy-image.json")
    findings = reports.trivy_json(document, rebase, image=True)
    assert {(f.rule_id, f.package, f.fixed_version) for f in findings} == {
        ("CVE-2020-14343", "PyYAML", "5.4"),
        ("CVE-2018-18074", "requests", "2.20.0"),
        ("CVE-2023-32681", "requests", "2.31.0"),
    }
    assert all(f.tool == "trivy-image" for f in findings)
    assert findings[0].location is not None and findings[0].location.path.startswith(
        "usr/local/lib/python3.12/site-packages/"
    )
    config = reports.image_config(document)
    assert config is not None and config["config"]["Cmd"] == ["python3", "-m", "app"]


def test_a_clean_trivy_report_without_results_has_no_findings() -> None:
    assert reports.trivy_json(load("trivy-clean.json"), rebase) == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "trivy report is not an object"),
        ({"SchemaVersion": 1, "Results": []}, "schema version 1"),
        ({"SchemaVersion": 2, "Results": {"a": 1}}, "Results is not a list"),
        (
            {
                "SchemaVersion": 2,
                "Results": [{"Target": "r.txt", "Vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}],
            },
            "lacks VulnerabilityID or PkgName",
        ),
        (
            {
                "SchemaVersion": 2,
                "Results": [
                    {
                        "Target": "r.txt",
                        "Vulnerabilities": [
                            {"VulnerabilityID": "CVE-1", "PkgName": "x", "Severity": "SEVERE"}
                        ],
                    }
                ],
            },
            "trivy CVE-1 has unknown severity 'SEVERE'",
        ),
    ],
)
def test_trivy_reports_of_the_wrong_shape_are_refused(document: object, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        reports.trivy_json(document, rebase)


def test_semgrep_reports_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ReportError, match="has no results"):
        reports.semgrep_json({"errors": []}, rebase)
    with pytest.raises(ReportError, match="lacks check_id"):
        reports.semgrep_json({"results": [{"check_id": "x"}]}, rebase)
    bogus = {
        "results": [
            {
                "check_id": "a.b.rule",
                "path": "x.py",
                "start": {},
                "end": {},
                "extra": {"severity": "LOUD"},
            }
        ]
    }
    with pytest.raises(ReportError, match="semgrep rule rule has unknown severity 'LOUD'"):
        reports.semgrep_json(bogus, rebase)
    with pytest.raises(ReportError, match="semgrep SARIF"):
        reports.semgrep_sarif({"version": "2.0.0"}, rebase)
