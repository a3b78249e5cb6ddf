"""The gate's threshold and the exceptions register, as pure logic."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shipline.findings import Finding, Location, Severity
from shipline.scan.gate import FailOn, by_severity, evaluate, reaches
from shipline.scan.register import ExceptionEntry, RegisterError, load_register
from tests.support.yaml_bombs import aliases_of_aliases, nested_anchors

TODAY = date(2026, 6, 1)


def finding(
    rule_id: str,
    severity: Severity | None,
    *,
    tool: str = "trivy-sca",
    package: str | None = None,
    path: str = "requirements.txt",
    line: int | None = None,
) -> Finding:
    level = (severity or Severity.UNKNOWN).level
    return Finding(tool, rule_id, "m", level, Location(path, line), severity, package=package)


def entry(rule_id: str, **fields: object) -> ExceptionEntry:
    values: dict[str, object] = {
        "owner": "team-payments",
        "expires": date(2026, 12, 31),
        "line": 3,
        "justification": "not reachable: we never parse untrusted YAML",
    }
    values.update(fields)
    return ExceptionEntry(id=rule_id, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fail_on", "blocked"),
    [
        (FailOn.CRITICAL, {Severity.CRITICAL, Severity.UNKNOWN}),
        (FailOn.HIGH, {Severity.CRITICAL, Severity.HIGH, Severity.UNKNOWN}),
        (FailOn.MEDIUM, {Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.UNKNOWN}),
        (FailOn.LOW, set(Severity)),
        (FailOn.NEVER, set()),
    ],
)
def test_threshold_blocks_that_severity_and_worse_and_unknown_fails_closed(
    fail_on: FailOn, blocked: set[Severity]
) -> None:
    assert {s for s in Severity if reaches(s, fail_on)} == blocked


def test_default_gate_blocks_high_and_critical_only() -> None:
    findings = [finding(f"CVE-{s.name}", s) for s in Severity] + [finding("CVE-NONE", None)]
    result = evaluate(findings, FailOn.HIGH, [], TODAY)
    assert {f.rule_id for f in result.blocking} == {
        "CVE-CRITICAL",
        "CVE-HIGH",
        "CVE-UNKNOWN",
        "CVE-NONE",
    }
    assert {f.rule_id for f in result.below_threshold} == {"CVE-MEDIUM", "CVE-LOW"}
    assert not result.passed


def test_an_exception_suppresses_only_within_its_scope() -> None:
    pyyaml = finding("CVE-2020-14343", Severity.CRITICAL, package="pyyaml")
    in_image = finding(
        "CVE-2020-14343",
        Severity.CRITICAL,
        tool="trivy-image",
        package="PyYAML",
        path="usr/lib/PyYAML/METADATA",
    )
    other_package = finding("CVE-2020-14343", Severity.CRITICAL, package="ruamel.yaml")
    register = [entry("cve-2020-14343", package="PyYAML", tool="trivy-sca")]
    result = evaluate([pyyaml, in_image, other_package], FailOn.HIGH, register, TODAY)
    assert [f for f, _ in result.suppressed] == [pyyaml]
    assert result.blocking == [in_image, other_package]


def test_path_scope_takes_files_directories_and_globs() -> None:
    legacy = finding(
        "weak-hash", Severity.HIGH, tool="semgrep", path="app/legacy/digest.py", line=4
    )
    core = finding("weak-hash", Severity.HIGH, tool="semgrep", path="app/core.py", line=9)
    for scope in ("app/legacy", "app/legacy/", "app/legacy/digest.py", "app/*/digest.py"):
        result = evaluate([legacy, core], FailOn.HIGH, [entry("weak-hash", path=scope)], TODAY)
        assert [f for f, _ in result.suppressed] == [legacy], scope
        assert result.blocking == [core]


def test_expired_and_unjustified_exceptions_suppress_nothing_and_fail_the_gate() -> None:
    high = finding("CVE-1", Severity.HIGH)
    expired = entry("CVE-1", expires=date(2026, 5, 31))
    last_day = entry("CVE-2", expires=TODAY)
    unjustified = entry("CVE-3", justification="  ")
    result = evaluate(
        [high, finding("CVE-2", Severity.HIGH), finding("CVE-3", Severity.LOW)],
        FailOn.HIGH,
        [expired, last_day, unjustified],
        TODAY,
    )
    assert result.blocking == [high]
    assert result.expired == [expired] and result.unjustified == [unjustified]
    assert [e for _, e in result.suppressed] == [last_day]  # valid through its expiry day
    assert not result.passed
    only_register_problems = evaluate([], FailOn.HIGH, [expired], TODAY)
    assert only_register_problems.blocking == [] and not only_register_problems.passed


def test_stale_exceptions_are_reported_but_do_not_fail() -> None:
    stale = entry("CVE-GONE")
    used = entry("CVE-1")
    result = evaluate([finding("CVE-1", Severity.CRITICAL)], FailOn.HIGH, [stale, used], TODAY)
    assert result.stale == [stale]
    assert result.passed


def test_worst_first_then_by_place() -> None:
    low = finding("a", Severity.LOW, path="a.py", line=1)
    late_critical = finding("b", Severity.CRITICAL, path="b.py", line=9)
    early_critical = finding("c", Severity.CRITICAL, path="b.py", line=2)
    unknown = finding("d", None, path="a.py")
    assert by_severity([low, unknown, late_critical, early_critical]) == [
        early_critical,
        late_critical,
        low,
        unknown,
    ]


VALID_REGISTER = """\
version: 1
exceptions:
  - id: CVE-2020-14343
    package: pyyaml
    justification: only parses our own config files
    owner: team-payments
    expires: 2026-12-31
  - id: weak-hash
    path: app/legacy/
    tool: semgrep
    owner: alice
    expires: "2027-01-15"
"""


def test_a_register_loads_with_each_entry_line(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yml"
    path.write_text(VALID_REGISTER)
    first, second = load_register(path, "exceptions.yml")
    assert first == ExceptionEntry(
        "CVE-2020-14343",
        "team-payments",
        date(2026, 12, 31),
        3,
        "only parses our own config files",
        package="pyyaml",
    )
    assert second.line == 8 and second.path == "app/legacy/" and second.tool == "semgrep"
    assert not second.justified  # allowed by the schema; the gate refuses it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("exceptions:\n  - id: CVE-1\n    owner: [a\n", r"^ex\.yml:4: not valid YAML"),
        (
            "exceptions:\n  - id: CVE-1\n    owner: bob\n",
            r"^ex\.yml:2: exceptions/0: 'expires' is a required property",
        ),
        (
            "exceptions:\n  - id: CVE-1\n    owner: bob\n    expires: 2026-02-30\n",
            r"^ex\.yml:4: exceptions/0/expires: '2026-02-30' is not a 'date'",
        ),
        (
            "exceptions:\n  - id: CVE-1\n    owner: bob\n    expires: 2026-02-01\n    severity: low\n",
            r"^ex\.yml:2: exceptions/0: Additional properties are not allowed \('severity' was unexpected\)",
        ),
        (
            "exceptions:\n  - id: A\n    owner: bob\n    expires: 2026-02-01\n  - id: B\n    owner: 7\n    expires: 2026-02-01\n",
            r"^ex\.yml:6: exceptions/1/owner: 7 is not of type 'string'",
        ),
        (
            "exceptions:\n  - id: A\n    owner: bob\n    expires: 2026-02-01\n    tool: nessus\n",
            r"^ex\.yml:5: exceptions/0/tool: 'nessus' is not one of",
        ),
        ("- id: A\n", r"^ex\.yml:1: \(top level\): \[.*\] is not of type 'object'"),
        ("", r"^ex\.yml:1: \(top level\): None is not of type 'object'"),
    ],
)
def test_a_malformed_register_is_bad_input_naming_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "ex.yml"
    path.write_text(text)
    with pytest.raises(RegisterError, match=message) as raised:
        load_register(path, "ex.yml")
    assert raised.value.exit_code == 2


def test_a_register_past_any_size_is_refused_before_it_is_walked(tmp_path: Path) -> None:
    # nine lines of aliases of aliases name 10**9 strings for the schema check to walk
    bomb = tmp_path / "ex.yml"
    bomb.write_text(aliases_of_aliases(9) + "exceptions: *a8\n")
    with pytest.raises(RegisterError) as raised:
        load_register(bomb, "ex.yml")
    assert str(raised.value) == (
        "ex.yml: the exceptions register has more than 100000 YAML nodes, an alias counted as "
        "a copy of what it names: refused"
    )
    endless = tmp_path / "endless.yml"  # a checkout's register can be a link to anything
    endless.symlink_to("/dev/zero")
    with pytest.raises(RegisterError, match="has more than 2000000 characters: refused"):
        load_register(endless, "endless.yml")
    deep = tmp_path / "deep.yml"
    deep.write_text("exceptions: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(
        RegisterError, match=r"^deep\.yml: the exceptions register nests too deeply$"
    ):
        load_register(deep, "deep.yml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a long string aliased: under the node cap, 3 MB for each walk to copy
        (
            "s: &s " + "x" * 10_000 + "\nexceptions: [" + ", ".join(["*s"] * 300) + "]\n",
            "ex.yml: the exceptions register has more than 2000000 characters of values, an "
            "alias counted as a copy of what it names: refused",
        ),
        (nested_anchors(5, 10), "ex.yml: the exceptions register nests more than 32 levels deep"),
        # a value is read from its own text, never parsed as YAML again
        ('exceptions: [!!int "[1, 2"]\n', "ex.yml:1: not valid YAML: !!int cannot hold '[1, 2'"),
        ("exceptions:\n  - !!bool maybe\n", "ex.yml:2: not valid YAML: !!bool cannot hold 'maybe'"),
        ("exceptions: " + "9" * 5000 + "\n", "ex.yml:1: not valid YAML: !!int cannot hold '99999"),
        ("exceptions: a\x07\n", "ex.yml: not valid YAML: unacceptable character #x0007"),
    ],
)
def test_a_register_past_a_bound_or_with_a_value_yaml_cannot_read_is_bad_input(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "ex.yml"
    path.write_text(text)
    with pytest.raises(RegisterError) as raised:
        load_register(path, "ex.yml")
    assert str(raised.value).startswith(message), str(raised.value)[:300]


def test_a_value_quoted_in_a_register_error_is_cut_to_a_line(tmp_path: Path) -> None:
    path = tmp_path / "ex.yml"
    path.write_text("exceptions: " + "x" * 1_000_000 + "\n")
    with pytest.raises(RegisterError) as raised:
        load_register(path, "ex.yml")
    assert str(raised.value).startswith("ex.yml:1: exceptions: 'xxx")
    assert str(raised.value).endswith("x… is not of type 'array'") and len(str(raised.value)) < 200


def test_the_shipped_example_register_is_valid() -> None:
    example = (
        Path(__file__).resolve().parents[2] / "src" / "shipline" / "scan" / "exceptions.example.yml"
    )
    entries = load_register(example, "exceptions.example.yml")
    assert [e.id for e in entries] == ["CVE-2020-14343", "weak-hash", "SHIP-004"]
    assert all(e.justified for e in entries)
