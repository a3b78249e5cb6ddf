from __future__ import annotations

import jsonschema
import pytest

from shipline.findings import Finding, Level, Location, Severity
from shipline.sarif import SarifError, build_log, read_findings
from tests.paths import SARIF_SCHEMA, load_npm_json

FINDINGS = [
    Finding(
        "ruff",
        "F401",
        "`os` imported but unused",
        Level.ERROR,
        Location("app/a.py", 1, 1, 8, 10),
        help_uri="https://docs.astral.sh/ruff/rules/unused-import",
    ),
    # help links belong to the rule, so every finding of a rule carries the same one
    Finding(
        "ruff",
        "F401",
        "`sys` imported but unused",
        Level.ERROR,
        Location("app/b.py", 2),
        help_uri="https://docs.astral.sh/ruff/rules/unused-import",
    ),
    Finding(
        "mypy", "assignment", "Incompatible types", Level.ERROR, Location("app/a.py", 4, 4, 10, 13)
    ),
    Finding(
        "semgrep",
        "python.yaml-load",
        "yaml.load is unsafe",
        Level.WARNING,
        Location("app/c.py", 9),
        severity=Severity.HIGH,
    ),
    Finding(
        "trivy", "CVE-2024-0001", "urllib3 vulnerable", Level.NOTE, None, severity=Severity.LOW
    ),
]


def test_one_run_per_tool_with_deduplicated_rules() -> None:
    log = build_log(FINDINGS, tools=["ruff", "mypy", "semgrep", "trivy", "hadolint"])
    runs = {run["tool"]["driver"]["name"]: run for run in log["runs"]}
    assert list(runs) == ["ruff", "mypy", "semgrep", "trivy", "hadolint"]
    assert [rule["id"] for rule in runs["ruff"]["tool"]["driver"]["rules"]] == ["F401"]
    assert [r["ruleIndex"] for r in runs["ruff"]["results"]] == [0, 0]
    assert runs["hadolint"]["results"] == []  # a tool that ran clean still has its run
    assert runs["semgrep"]["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == "8.0"
    assert runs["ruff"]["automationDetails"]["id"] == "shipline/ruff/"


def test_written_logs_are_valid_sarif_2_1_0() -> None:
    schema = load_npm_json(SARIF_SCHEMA)
    jsonschema.validate(build_log(FINDINGS, tools=["hadolint"]), schema)


def test_an_invalid_log_fails_the_schema_so_the_check_can_fail() -> None:
    schema = load_npm_json(SARIF_SCHEMA)
    log = build_log(FINDINGS)
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, schema)


def test_reading_back_what_we_write_gives_the_same_findings() -> None:
    assert read_findings(build_log(FINDINGS)) == FINDINGS


def test_reader_takes_rule_defaults_and_tool_override() -> None:
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "zizmor",
                        "rules": [
                            {
                                "id": "zizmor/x",
                                "defaultConfiguration": {"level": "error"},
                                "properties": {"security-severity": "9.8"},
                            }
                        ],
                    }
                },
                "results": [
                    {
                        "ruleId": "zizmor/x",
                        "message": {"text": "m"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "ci.yml"},
                                    "region": {"startLine": 3},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (finding,) = read_findings(log, tool="workflows")
    assert finding == Finding(
        "workflows", "zizmor/x", "m", Level.ERROR, Location("ci.yml", 3), Severity.CRITICAL
    )


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"version": "2.0.0", "runs": []}, "not a SARIF 2.1.0 log"),
        ({"version": "2.1.0"}, "not a SARIF 2.1.0 log"),
        ({"version": "2.1.0", "runs": [{"results": [{"ruleId": "r"}]}]}, "has no message text"),
        (
            {
                "version": "2.1.0",
                "runs": [{"results": [{"ruleId": "r", "level": "loud", "message": {"text": "m"}}]}],
            },
            "unknown level",
        ),
    ],
)
def test_malformed_logs_are_refused(document: dict[str, object], problem: str) -> None:
    with pytest.raises(SarifError, match=problem):
        read_findings(document)
