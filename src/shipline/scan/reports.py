"""Scanner reports (semgrep JSON or SARIF, trivy JSON) turned into Findings.

Plain data in, Findings out. A report that does not have the documented shape raises
ReportError: the gate treats it as a scanner that could not check, never as "clean".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from shipline.findings import Finding, Level, Location, Severity
from shipline.paths import workspace_relative
from shipline.sarif import SarifError, read_findings


class ReportError(ValueError):
    """A report we cannot read with confidence."""


# Tool names double as SARIF run names, so code scanning keeps one category per scanner.
SEMGREP = "semgrep"
TRIVY_SCA = "trivy-sca"
TRIVY_IMAGE = "trivy-image"
TRIVY_SECRET = "trivy-secret"  # noqa: S105 - a tool name
TRIVY_MISCONFIG = "trivy-misconfig"
POLICY = "policy"

# semgrep's legacy scale; rules may also use CRITICAL/HIGH/MEDIUM/LOW directly.
_SEMGREP_SEVERITY = {
    "ERROR": Severity.HIGH,
    "WARNING": Severity.MEDIUM,
    "INFO": Severity.LOW,
    "INVENTORY": Severity.LOW,
    "EXPERIMENT": Severity.LOW,
}
_SARIF_LEVEL_SEVERITY = {
    Level.ERROR: Severity.HIGH,
    Level.WARNING: Severity.MEDIUM,
    Level.NOTE: Severity.LOW,
}

Rebase = Callable[[str], str]


def rebaser(workspace: Path, base: Path) -> Rebase:
    """Turns a path a scanner printed relative to ``base`` into a workspace-relative one.

    Memoised: a report names the same few files thousands of times, and resolving a path
    touches the file system.
    """

    @cache
    def rebase(path: str) -> str:
        return workspace_relative(path, workspace, base)

    return rebase


_SEVERITY_NAMES = {severity.name: severity for severity in Severity}


def parse_severity(text: object, what: str) -> Severity:
    if not isinstance(text, str):
        raise ReportError(f"{what} has no severity")
    exact = _SEVERITY_NAMES.get(text)  # the common case, kept cheap for huge reports
    if exact is not None:
        return exact
    try:
        return Severity.parse(text)
    except ValueError:
        raise ReportError(f"{what} has unknown severity {text!r}") from None


def _finding(tool: str, rule_id: str, message: str, severity: Severity, **fields: Any) -> Finding:
    return Finding(
        tool=tool,
        rule_id=rule_id,
        message=message,
        level=severity.level,
        severity=severity,
        **fields,
    )


def semgrep_rule_id(check_id: str) -> str:
    """semgrep prefixes a local rule's id with its file's directory path, dotted."""
    return check_id.rsplit(".", 1)[-1]


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReportError(f"{what} is not an object")
    return value


def _items(report: Mapping[str, Any], key: str, what: str) -> list[Any]:
    value = report.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportError(f"{what} {key} is not a list")
    return value


def semgrep_json(report: object, rebase: Rebase) -> tuple[list[Finding], list[str]]:
    """Findings and the errors semgrep reported (``errors`` of level error mean it failed)."""
    document = _mapping(report, "semgrep report")
    if "results" not in document:
        raise ReportError("semgrep report has no results")
    findings = []
    for item in _items(document, "results", "semgrep report"):
        try:
            extra, start, end = item["extra"], item["start"], item["end"]
            rule_id = semgrep_rule_id(str(item["check_id"]))
            path = str(item["path"])
        except (KeyError, TypeError):
            raise ReportError("semgrep result lacks check_id, path, start, end or extra") from None
        severity_text = str(extra.get("severity", "")).upper()
        severity = _SEMGREP_SEVERITY.get(severity_text) or parse_severity(
            severity_text, f"semgrep rule {rule_id}"
        )
        findings.append(
            _finding(
                SEMGREP,
                rule_id,
                " ".join(str(extra.get("message", rule_id)).split()),
                severity,
                location=Location(
                    rebase(path),
                    start.get("line"),
                    end.get("line"),
                    start.get("col"),
                    end.get("col"),
                ),
                help_uri=(extra.get("metadata") or {}).get("source"),
            )
        )
    errors = [
        f"{error.get('type', 'error')}: {' '.join(str(error.get('message', '')).split())[:300]}"
        for error in _items(document, "errors", "semgrep report")
        if isinstance(error, Mapping) and str(error.get("level", "error")).lower() == "error"
    ]
    return findings, errors


def semgrep_sarif(report: object, rebase: Rebase) -> list[Finding]:
    """semgrep's SARIF has no security-severity: the level stands in for it."""
    try:
        findings = read_findings(_mapping(report, "semgrep SARIF"), tool=SEMGREP)
    except SarifError as error:
        raise ReportError(f"semgrep SARIF: {error}") from None
    normalised = []
    for finding in findings:
        severity = finding.severity or _SARIF_LEVEL_SEVERITY[finding.level]
        location = finding.location
        normalised.append(
            replace(
                finding,
                rule_id=semgrep_rule_id(finding.rule_id),
                severity=severity,
                level=severity.level,
                location=replace(location, path=rebase(location.path)) if location else None,
            )
        )
    return normalised


def trivy_json(report: object, rebase: Rebase, *, image: bool = False) -> list[Finding]:
    """Vulnerabilities, secrets and failed misconfiguration checks of ``trivy fs|image|config``."""
    document = _mapping(report, "trivy report")
    if document.get("SchemaVersion") != 2:
        raise ReportError(
            f"trivy report has schema version {document.get('SchemaVersion')!r}, expected 2"
        )
    findings: list[Finding] = []
    for result in _items(document, "Results", "trivy report"):
        result = _mapping(result, "trivy result")
        target = str(result.get("Target", ""))
        for vulnerability in _items(result, "Vulnerabilities", f"trivy result {target}"):
            findings.append(_vulnerability(vulnerability, target, rebase, image))
        for secret in _items(result, "Secrets", f"trivy result {target}"):
            findings.append(_secret(secret, target, rebase))
        for check in _items(result, "Misconfigurations", f"trivy result {target}"):
            if check.get("Status", "FAIL") == "FAIL":
                findings.append(_misconfiguration(check, target, rebase))
    return findings


def _vulnerability(item: Mapping[str, Any], target: str, rebase: Rebase, image: bool) -> Finding:
    try:
        vulnerability_id, package = str(item["VulnerabilityID"]), str(item["PkgName"])
    except KeyError:
        raise ReportError(
            f"trivy vulnerability in {target} lacks VulnerabilityID or PkgName"
        ) from None
    severity = parse_severity(item.get("Severity"), f"trivy {vulnerability_id}")
    installed, fixed = item.get("InstalledVersion"), item.get("FixedVersion") or None
    title = item.get("Title") or vulnerability_id
    advice = f"; fixed in {fixed}" if fixed else "; no fix released"
    where = item.get("PkgPath") or target
    return _finding(
        TRIVY_IMAGE if image else TRIVY_SCA,
        vulnerability_id,
        f"{package} {installed}: {title}{advice}",
        severity,
        location=_file_location(where if image else rebase(where)),
        help_uri=item.get("PrimaryURL"),
        package=package,
        installed_version=None if installed is None else str(installed),
        fixed_version=fixed,
    )


@cache
def _file_location(path: str) -> Location:
    """One shared Location per file: a report of thousands of vulnerabilities names a few."""
    return Location(path)


def _secret(item: Mapping[str, Any], target: str, rebase: Rebase) -> Finding:
    # The message names the kind of secret, never the matched text.
    rule_id = str(item.get("RuleID") or "secret")
    severity = parse_severity(item.get("Severity"), f"trivy secret {rule_id}")
    return _finding(
        TRIVY_SECRET,
        rule_id,
        f"{item.get('Title') or rule_id} committed in the source; rotate it and load it from a secret store",
        severity,
        location=Location(rebase(target), item.get("StartLine"), item.get("EndLine")),
    )


def _misconfiguration(item: Mapping[str, Any], target: str, rebase: Rebase) -> Finding:
    rule_id = str(item.get("ID") or item.get("AVDID") or "misconfiguration")
    severity = parse_severity(item.get("Severity"), f"trivy check {rule_id}")
    cause = item.get("CauseMetadata") or {}
    message = item.get("Message") or item.get("Title") or rule_id
    resolution = item.get("Resolution")
    return _finding(
        TRIVY_MISCONFIG,
        rule_id,
        f"{message}" + (f" ({resolution})" if resolution else ""),
        severity,
        location=Location(
            rebase(target), cause.get("StartLine") or None, cause.get("EndLine") or None
        ),
        help_uri=item.get("PrimaryURL"),
    )


def image_config(report: object) -> dict[str, Any] | None:
    """The OCI image configuration trivy read from the image, for the policies."""
    metadata = _mapping(report, "trivy report").get("Metadata") or {}
    config = metadata.get("ImageConfig") if isinstance(metadata, Mapping) else None
    return dict(config) if isinstance(config, Mapping) else None
