"""SARIF 2.1.0: one writer for our reports, one reader for tools that speak it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from shipline import __version__
from shipline.findings import Finding, Level, Location, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/shipline/shipline"

# GitHub code scanning reads security severity as a CVSS-like score string.
_SECURITY_SCORE = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.UNKNOWN: "0.0",
}


def build_log(
    findings: Iterable[Finding],
    tools: Iterable[str] = (),
    suppressions: Mapping[Finding, str] | None = None,
) -> dict[str, Any]:
    """One run per tool (so code scanning keeps each tool's category), rules de-duplicated.

    ``suppressions`` maps accepted findings to their justification: they stay in the log,
    marked as externally suppressed, so code scanning shows them as such rather than lose them.
    """
    by_tool: dict[str, list[Finding]] = {name: [] for name in tools}
    for finding in findings:
        by_tool.setdefault(finding.tool, []).append(finding)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [_run(tool, items, suppressions or {}) for tool, items in by_tool.items()],
    }


def write_log(
    path: Path,
    findings: Iterable[Finding],
    tools: Iterable[str] = (),
    suppressions: Mapping[Finding, str] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    log = build_log(findings, tools, suppressions)
    path.write_text(json.dumps(log, indent=2) + "\n", encoding="utf-8")


def _run(tool: str, findings: list[Finding], suppressions: Mapping[Finding, str]) -> dict[str, Any]:
    rule_index: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for finding in findings:
        if finding.rule_id not in rule_index:
            rule_index[finding.rule_id] = len(rules)
            rules.append(_rule(finding))
        result = _result(finding, rule_index[finding.rule_id])
        justification = suppressions.get(finding) if suppressions else None
        if justification is not None:
            result["suppressions"] = [
                {"kind": "external", "status": "accepted", "justification": justification}
            ]
        results.append(result)
    return {
        "tool": {
            "driver": {
                "name": tool,
                "informationUri": INFORMATION_URI,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"shipline/{tool}/"},
        "results": results,
    }


def _rule(finding: Finding) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "shortDescription": {"text": finding.rule_id},
        "defaultConfiguration": {"level": finding.level.value},
    }
    if finding.help_uri:
        rule["helpUri"] = finding.help_uri
    if finding.severity is not None:
        rule["properties"] = {"security-severity": _SECURITY_SCORE[finding.severity]}
    return rule


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": finding.level.value,
        "message": {"text": finding.message},
    }
    if finding.location is not None:
        result["locations"] = [{"physicalLocation": _physical(finding.location)}]
    if finding.package is not None:
        result["properties"] = {
            key: value for key, value in _package_properties(finding).items() if value is not None
        }
    return result


def _package_properties(finding: Finding) -> dict[str, str | None]:
    return {
        "package": finding.package,
        "installedVersion": finding.installed_version,
        "fixedVersion": finding.fixed_version,
    }


def _physical(location: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": location.path}}
    if location.line:
        region: dict[str, int] = {"startLine": location.line}
        if location.end_line:
            region["endLine"] = location.end_line
        if location.column:
            region["startColumn"] = location.column
        if location.end_column:
            region["endColumn"] = location.end_column
        physical["region"] = region
    return physical


class SarifError(ValueError):
    """A SARIF document that does not have the shape SARIF 2.1.0 promises."""


def read_findings(document: Mapping[str, Any], *, tool: str | None = None) -> list[Finding]:
    """Findings from a SARIF log; ``tool`` overrides the driver name of every run."""
    if document.get("version") != "2.1.0" or not isinstance(document.get("runs"), list):
        raise SarifError("not a SARIF 2.1.0 log (version or runs missing)")
    findings: list[Finding] = []
    for run in document["runs"]:
        driver = run.get("tool", {}).get("driver", {})
        name = tool or str(driver.get("name", "sarif"))
        rules = driver.get("rules") or []
        for result in run.get("results") or []:
            findings.append(_finding(name, rules, result))
    return findings


def _finding(tool: str, rules: list[dict[str, Any]], result: Mapping[str, Any]) -> Finding:
    rule = _rule_of(rules, result)
    rule_id = str(result.get("ruleId") or rule.get("id") or "unknown")
    level_text = (
        result.get("level") or rule.get("defaultConfiguration", {}).get("level") or "warning"
    )
    try:
        level = Level.NOTE if level_text == "none" else Level(level_text)
    except ValueError:
        raise SarifError(f"result for rule {rule_id} has unknown level {level_text!r}") from None
    message = result.get("message", {}).get("text")
    if message is None:
        raise SarifError(f"result for rule {rule_id} has no message text")
    score = (rule.get("properties") or {}).get("security-severity")
    package = result.get("properties") or {}
    return Finding(
        tool=tool,
        rule_id=rule_id,
        message=str(message),
        level=level,
        location=_location(result),
        severity=_severity_from_score(score) if score is not None else None,
        help_uri=rule.get("helpUri"),
        package=_optional_text(package.get("package")),
        installed_version=_optional_text(package.get("installedVersion")),
        fixed_version=_optional_text(package.get("fixedVersion")),
    )


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def _rule_of(rules: list[dict[str, Any]], result: Mapping[str, Any]) -> dict[str, Any]:
    index = result.get("ruleIndex")
    if isinstance(index, int) and 0 <= index < len(rules):
        return rules[index]
    for rule in rules:
        if rule.get("id") == result.get("ruleId"):
            return rule
    return {}


def _location(result: Mapping[str, Any]) -> Location | None:
    for location in result.get("locations") or []:
        physical = location.get("physicalLocation")
        if not physical:
            continue
        uri = physical.get("artifactLocation", {}).get("uri")
        if not uri:
            continue
        region = physical.get("region") or {}
        return Location(
            path=str(uri).removeprefix("file://"),
            line=region.get("startLine"),
            end_line=region.get("endLine"),
            column=region.get("startColumn"),
            end_column=region.get("endColumn"),
        )
    return None


def _severity_from_score(score: object) -> Severity:
    """GitHub's bands: >= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low."""
    try:
        value = float(str(score))
    except ValueError:
        raise SarifError(f"security-severity {score!r} is not a number") from None
    if value >= 9.0:
        return Severity.CRITICAL
    if value >= 7.0:
        return Severity.HIGH
    if value >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW if value > 0 else Severity.UNKNOWN
