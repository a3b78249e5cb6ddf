"""The quarantine register: schema-validated YAML with errors on the right line."""

from __future__ import annotations

import datetime as dt
import textwrap

import jsonschema
import pytest

from shipline.testmatrix import quarantine

VALID = """\
version: 1
tests:
  - id: tests/test_api.py::test_timeout
    reason: races the event loop on slow runners
    owner: "@acme/payments"
    issue: https://github.com/acme/shop/issues/42
    expires: 2026-12-31
  - id: tests/test_db.py::TestPool::test_reconnect[pg]
    reason: flaky reconnect
    owner: dev@example.com
    issue: https://github.com/acme/shop/issues/43
    expires: 2026-01-15
"""


def test_the_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(quarantine.schema())


def test_a_valid_register_loads_with_lines_and_dates() -> None:
    register = quarantine.parse(VALID, ".github/quarantine.yml")
    first, second = register.entries
    assert first.test == "tests/test_api.py::test_timeout"
    assert first.expires == dt.date(2026, 12, 31)
    assert (first.line, second.line) == (3, 8)
    today = dt.date(2026, 6, 1)
    assert set(register.active(today)) == {first.test}
    assert register.expired(today) == [second]
    assert not second.expired(dt.date(2026, 1, 15))  # the expiry day itself still holds


@pytest.mark.parametrize(
    ("edit", "line", "reason"),
    [
        (("    owner: dev@example.com\n", ""), 8, "'owner' is a required property"),
        (("expires: 2026-01-15", "expires: 2026-02-30"), 12, "is not a 'date'"),
        (("expires: 2026-01-15", "expires: soon"), 12, "'soon' is not a 'date'"),
        (
            ("issue: https://github.com/acme/shop/issues/43", "issue: see slack"),
            11,
            "does not match",
        ),
        (("version: 1", "version: 2"), 1, "1 was expected"),
        (
            ("    reason: flaky reconnect\n", "    reason: flaky reconnect\n    colour: red\n"),
            8,
            "colour",
        ),
        (("  - id: tests/test_db.py", "  - id: [tests/test_db.py"), 8, "not valid YAML"),
        (
            ("tests/test_db.py::TestPool::test_reconnect[pg]", "tests/test_api.py::test_timeout"),
            8,
            "listed twice (first on line 3)",
        ),
    ],
)
def test_malformed_registers_name_file_and_line(
    edit: tuple[str, str], line: int, reason: str
) -> None:
    text = VALID.replace(*edit)
    assert text != VALID
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse(text, ".github/quarantine.yml")
    assert raised.value.exit_code == 2
    assert raised.value.line == line, str(raised.value)
    assert str(raised.value).startswith(f"quarantine register .github/quarantine.yml:{line}: ")
    assert reason in str(raised.value)


def test_an_empty_register_is_malformed() -> None:
    with pytest.raises(quarantine.RegisterError, match="is empty"):
        quarantine.parse("# nothing yet\n", "q.yml")


def test_ready_to_release_after_n_passing_runs_in_a_row() -> None:
    register = quarantine.parse(textwrap.dedent(VALID).replace("2026-01-15", "2027-01-15"), "q.yml")
    today = dt.date(2026, 6, 1)
    streaks = {
        "tests/test_api.py::test_timeout": 5,
        "tests/test_db.py::TestPool::test_reconnect[pg]": 4,
    }
    ready = quarantine.ready_to_release(register, streaks, 5, today)
    assert [e.test for e in ready] == ["tests/test_api.py::test_timeout"]
