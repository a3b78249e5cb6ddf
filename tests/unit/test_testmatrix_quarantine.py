"""The quarantine register: schema-validated YAML with errors on the right line."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shipline.testmatrix import durations, quarantine
from shipline.testmatrix.results import Outcome, TestResult
from tests.support.yaml_bombs import aliases_of_aliases, nested_anchors

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
            "tests/1/issue: got 'see slack'; expected: Link to the issue that tracks the fix.",
        ),
        (("version: 1", "version: 2"), 1, "1 was expected"),
        (
            ("    reason: flaky reconnect\n", "    reason: flaky reconnect\n    colour: red\n"),
            8,
            "colour",
        ),
        # a misspelt key: the error that names it, not the one it makes missing
        (
            ("    expires: 2026-01-15", "    expiry: 2026-01-15"),
            8,
            "tests/1: Additional properties are not allowed ('expiry' was unexpected) "
            "(and 1 more problem(s))",
        ),
        (("  - id: tests/test_db.py", "  - id: [tests/test_db.py"), 8, "not valid YAML"),
        (
            ("tests/test_db.py::TestPool::test_reconnect[pg]", "tests/test_api.py::test_timeout"),
            8,
            "listed twice (first on line 3)",
        ),
        # PyYAML keeps the last of two equal keys: refused, on the line of the second
        (
            (
                "    reason: flaky reconnect\n",
                "    id: tests/test_db.py::other\n    reason: flaky\n",
            ),
            9,
            "key 'id' is given twice (first on line 8)",
        ),
        (
            ("    expires: 2026-01-15\n", "    expires: 2026-01-15\nversion: 2\n"),
            13,
            "key 'version' is given twice (first on line 1)",
        ),
        # ids with surrounding whitespace never match a test; a reason must say something
        (
            ("id: tests/test_db.py::TestPool::test_reconnect[pg]", 'id: "tests/test_db.py::x "'),
            8,
            "tests/1/id: got 'tests/test_db.py::x '; expected: The pytest node id",
        ),
        (
            ("id: tests/test_db.py::TestPool::test_reconnect[pg]", 'id: " tests/test_db.py::x"'),
            8,
            "got ' tests/test_db.py::x'; expected: The pytest node id",
        ),
        (
            (
                "id: tests/test_db.py::TestPool::test_reconnect[pg]",
                "id: |\n      tests/test_db.py::x",
            ),
            8,
            "got 'tests/test_db.py::x\\n'; expected",
        ),
        (
            ("reason: flaky reconnect", 'reason: "   "'),
            9,
            "tests/1/reason: got '   '; expected: Why the test",
        ),
        (("reason: flaky reconnect", 'reason: " a\t"'), 9, "got ' a\\t'; expected: Why"),
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


def test_a_repeated_key_is_reported_in_file_order() -> None:
    text = VALID.replace("    reason: races", "    owner: x@example.com\n    reason: races")
    text += "version: 1\n"
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse(text, "q.yml")
    assert raised.value.line == 6, str(raised.value)  # before the repeated version on line 14
    assert "key 'owner' is given twice (first on line 4)" in str(raised.value)


def test_of_several_schema_errors_the_first_in_the_file_is_reported() -> None:
    entry = VALID.splitlines(keepends=True)[2:7]
    text = "version: 1\ntests:\n" + "".join(entry) * 11
    text = text.replace("id: tests/test_api.py::test_timeout", "id: t.py::t{}").format(*range(11))
    lines = text.splitlines(keepends=True)
    for index in (2, 10):  # a string sort of the paths puts tests/10 before tests/2
        expires = 2 + index * 5 + 4
        assert lines[expires].startswith("    expires:")
        lines[expires] = "    expires: 2099-13-01\n"
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse("".join(lines), "q.yml")
    assert raised.value.line == 17
    assert "tests/2/expires: '2099-13-01' is not a 'date' (and 1 more problem(s))" in str(
        raised.value
    )


def test_of_several_schema_errors_on_one_line_the_first_entry_is_reported() -> None:
    entry = '{id: "t.py::t%d", reason: abc, owner: "@a", issue: "https://x/1", expires: %s}'
    entries = [entry % (i, "2099-13-01" if i in (2, 10) else "2099-12-01") for i in range(11)]
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse("version: 1\ntests: [" + ", ".join(entries) + "]\n", "q.yml")
    assert raised.value.line == 2
    assert "tests/2/expires" in str(raised.value)


def test_an_alias_listed_twice_is_reported_on_the_alias_line() -> None:
    text = VALID.replace("  - id: tests/test_api.py", "  - &first\n    id: tests/test_api.py")
    text = text.replace("  - id: tests/test_db.py", "  - *first\n  - id: tests/test_db.py")
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse(text, "q.yml")
    assert raised.value.line == 9, str(raised.value)
    assert "listed twice (first on line 3)" in str(raised.value)


def test_aliases_of_aliases_that_expand_past_any_register_are_refused() -> None:
    # nine lines that would expand to 9**8 strings for the schema check to walk and print
    text = VALID.replace("    reason: flaky reconnect", "    reason: *a8")
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse(aliases_of_aliases(9, width=9) + text, "q.yml")
    assert str(raised.value) == (
        "quarantine register q.yml: has more than 100000 YAML nodes, an alias counted as a copy "
        "of what it names: refused"
    )


def test_merge_keys_that_expand_past_any_register_are_refused_before_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # loading copies each << merge in place: with eight levels, 513 bytes took a minute and
    # 743 MB, so the size is checked on the composed nodes, and nothing is loaded
    levels = ["x0: &a0 {" + ", ".join(f"k{n}: v" for n in range(9)) + "}"]
    levels += [f"x{n}: &a{n} {{<<: [" + ", ".join([f"*a{n - 1}"] * 9) + "]}" for n in range(1, 5)]

    def load(*_: object, **__: object) -> None:
        raise AssertionError("loaded before its size was checked")

    monkeypatch.setattr(quarantine.yaml, "load", load)
    with pytest.raises(quarantine.RegisterError, match="has more than 100000 YAML nodes"):
        quarantine.parse("\n".join(levels) + "\n" + VALID, "q.yml")


def test_a_register_of_more_nodes_than_any_is_refused_as_it_is_composed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no alias: composing all of them would only cost (about 20 s a megabyte)
    monkeypatch.setattr(quarantine._LocatingLoader, "nodes_at_most", 1000)
    text = VALID + "extra: [" + "1," * 150_000 + "1]\n"
    composed = []
    compose_node = quarantine._LocatingLoader.compose_node

    def counted(loader: quarantine._LocatingLoader, *args: Any) -> Any:
        composed.append(1)
        return compose_node(loader, *args)

    monkeypatch.setattr(quarantine._LocatingLoader, "compose_node", counted)
    with pytest.raises(quarantine.RegisterError, match="has more than 1000 YAML nodes"):
        quarantine.parse(text, "q.yml")
    assert len(composed) == 1001


def test_a_register_longer_than_any_is_refused_before_it_is_parsed() -> None:
    text = VALID + "# " + "x" * quarantine.REGISTER_CHARACTERS_AT_MOST + "\n"
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse(text, "q.yml")
    assert str(raised.value) == (
        "quarantine register q.yml: has more than 2000000 characters: refused"
    )


def test_a_register_file_is_read_no_further_than_the_cap(tmp_path: Path) -> None:
    # a checkout's register can be a link to something endless
    endless = tmp_path / "quarantine.yml"
    endless.symlink_to("/dev/zero")
    with pytest.raises(quarantine.RegisterError, match="has more than 2000000 characters"):
        quarantine.load(endless, "quarantine.yml")


def test_a_value_quoted_in_an_error_is_cut_to_a_line() -> None:
    # jsonschema repeats the whole value; the error is one annotation line
    text = "version: 1\ntests: " + "x" * 1_000_000 + "\n"
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse(text, "q.yml")
    assert str(raised.value).startswith("quarantine register q.yml:2: tests: 'xxxxx")
    assert "x… is not of type 'array'" in str(raised.value)
    assert len(str(raised.value)) < 300
    twice = "tests/test_a.py::test_" + "a" * 10_000
    text = VALID.replace("tests/test_api.py::test_timeout", twice)
    text = text.replace("tests/test_db.py::TestPool::test_reconnect[pg]", twice)
    with pytest.raises(quarantine.RegisterError, match=r":8: tests/test_a\.py::test_a+… is listed"):
        quarantine.parse(text, "q.yml")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("tests: " + "[" * 3000 + "]" * 3000 + "\n", "nests too deeply: refused"),
        ("version: 1\ntests: !!int abc\n", ":2: not valid YAML: !!int cannot hold 'abc'"),
        ("version: !!bool maybe\n", ":1: not valid YAML: !!bool cannot hold 'maybe'"),
        ("version: !!timestamp x\n", ":1: not valid YAML: !!timestamp cannot hold 'x'"),
        ('version: !!int ""\n', ":1: not valid YAML: !!int cannot hold ''"),
        # longer than any number meant: Python prints no int over 4,300 digits
        ("version: 0x" + "f" * 4000 + "\n", ":1: not valid YAML: !!int cannot hold '0xfff"),
    ],
)
def test_yaml_that_pyyaml_fails_on_is_a_malformed_register(text: str, said: str) -> None:
    with pytest.raises(quarantine.RegisterError, match=re.escape(said)):
        quarantine.parse(text, "q.yml")


def test_aliases_that_copy_megabytes_of_text_or_nest_past_any_register_are_refused() -> None:
    # under the node and size caps, but each walk over the data would copy 3 MB of text
    text = "s: &s " + "x" * 10_000 + "\n" + VALID.replace("reason: flaky reconnect", "reason: *s")
    text += "more: [" + ", ".join(["*s"] * 300) + "]\n"
    with pytest.raises(quarantine.RegisterError) as raised:
        quarantine.parse(text, "q.yml")
    assert str(raised.value) == (
        "quarantine register q.yml: has more than 2000000 characters of values, an alias counted "
        "as a copy of what it names: refused"
    )
    # each anchor 10 levels deep in the one before: composing recurses 10 levels, walks 50
    with pytest.raises(quarantine.RegisterError, match="nests more than 32 levels deep: refused"):
        quarantine.parse(nested_anchors(5, 10) + VALID, "q.yml")


@pytest.mark.parametrize(
    ("owner", "valid"),
    [
        ("dev@example.com", True),
        ("dev@mail.example.co.uk", True),
        ('"@acme/payments"', True),
        ("dev@example", False),
        ("dev@example..com", False),
        ("dev@example.com.", False),
        # dots for a regex to try splitting every way: refused in one pass
        ('"a@' + "." * 40_000 + ' "', False),
    ],
)
def test_an_owner_is_a_team_or_an_e_mail_address(owner: str, valid: bool) -> None:
    text = VALID.replace("owner: dev@example.com", f"owner: {owner}")
    if valid:
        assert quarantine.parse(text, "q.yml").entries[1].owner == owner.strip('"')
    else:
        with pytest.raises(quarantine.RegisterError, match=r":10: tests/1/owner: got "):
            quarantine.parse(text, "q.yml")


def test_aliases_within_bounds_load() -> None:
    text = VALID.replace('owner: "@acme/payments"', 'owner: &team "@acme/payments"')
    text = text.replace("owner: dev@example.com", "owner: *team")
    owners = [entry.owner for entry in quarantine.parse(text, "q.yml").entries]
    assert owners == ["@acme/payments", "@acme/payments"]


def test_an_empty_register_is_malformed() -> None:
    with pytest.raises(quarantine.RegisterError, match="is empty"):
        quarantine.parse("# nothing yet\n", "q.yml")


def test_ready_to_release_after_n_passing_runs_in_a_row_while_quarantined() -> None:
    register = quarantine.parse(textwrap.dedent(VALID).replace("2026-01-15", "2027-01-15"), "q.yml")
    today = dt.date(2026, 6, 1)
    timeout, reconnect = (entry.test for entry in register.entries)
    # the history of a test that passed 12 merges before it was quarantined, and failed on a
    # branch whose history main never saw: the first merge under quarantine is not enough
    history = durations.History(
        {timeout: durations.TestHistory(0.1, 40, Outcome.PASSED, 12, (0.1,))}
    )
    quarantined = frozenset(register.active(today))
    for merges in range(1, 4):
        history = durations.merge(
            history,
            {
                timeout: TestResult(timeout, Outcome.PASSED, 0.1),
                reconnect: TestResult(reconnect, Outcome.PASSED, 0.1),
            },
            quarantined=quarantined,
        )
        held = {test: entry.held for test, entry in history.tests.items()}
        ready = quarantine.ready_to_release(register, held, 3, today)
        assert [e.test for e in ready] == ([timeout, reconnect] if merges == 3 else [])


def test_entries_that_can_hold_no_test_are_found_with_why() -> None:
    def entry(test: str, line: int) -> quarantine.Entry:
        return quarantine.Entry(test, "why", "@me", "https://x/1", dt.date(2999, 1, 1), line)

    register = quarantine.Register(
        "q.yml",
        (
            entry("tests/test_db.py::TestPool", 3),  # a class
            entry("tests/test_db.py::test_param", 8),  # a parametrized test without its id
            entry("tests/test_db.py::test_plain", 13),  # a whole id
            entry("tests/test_gone.py::test_x", 18),  # another layer's, or gone
            entry("tests/test_db.py::TestPoo", 23),  # not a whole part of any id
            entry("tests/test_db.py::test_param[*]", 28),
            entry("./tests/test_db.py::test_plain", 33),
            entry("tests\\test_db.py::test_plain", 38),  # a Windows path
            entry("tests/test_db.py::test_plain[a\\b]", 43),  # a backslash in its id is fine
        ),
    )
    tests = [
        "tests/test_db.py::TestPool::test_a",
        "tests/test_db.py::TestPool::test_b",
        "tests/test_db.py::test_param[1]",
        "tests/test_db.py::test_plain",
    ]
    found = quarantine.holding_nothing(register, tests, dt.date(2026, 1, 1))
    assert [(e.line, why) for e, why in found] == [
        (3, "is the beginning of 2 test id(s), no test id itself"),
        (8, "is the beginning of 1 test id(s), no test id itself"),
        (28, "matches no test: ids are matched whole, without wildcards"),
        (33, "matches no test: write ids as pytest prints them, without ./"),
        (38, "matches no test: pytest prints a test's path with /, not \\"),
    ]


def _register_of(*tests: str, expires: dt.date = dt.date(2999, 1, 1)) -> quarantine.Register:
    """A register with an entry for each test, on lines 3, 8, 13 ..."""
    return quarantine.Register(
        "q.yml",
        tuple(
            quarantine.Entry(test, "why", "@me", "https://x/1", expires, 3 + 5 * index)
            for index, test in enumerate(tests)
        ),
    )


def test_entries_whose_test_file_is_gone_are_found_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "tests" / "sub").mkdir(parents=True)
    (tmp_path / "tests" / "test_db.py").write_text("")
    (tmp_path / "tests" / "test_other.py").write_text("")
    register = _register_of(
        "tests/test_db.py::test_plain",  # in this run
        "tests/test_gone.py::test_x",  # its file was deleted
        "tests/test_other.py::test_y",  # its file exists: another layer's, say
        "tests/sub/test_moved.py::TestA::test_b[a::b]",  # the file is up to the first ::
        "tests/test_*.py::test_x",  # a wildcard: holding_nothing says why
        "./tests/test_gone.py::test_x",  # a leading ./: holding_nothing says why
        "tests/test_made.py::test_z",  # ran in this run: not gone, whatever this checkout holds
    )
    expired = _register_of("tests/test_gone.py::test_x", expires=dt.date(2000, 1, 1))
    tests = ["tests/test_db.py::test_plain", "tests/test_made.py::test_z"]
    today = dt.date(2026, 1, 1)
    found = quarantine.naming_missing_files(register, tests, tmp_path, today)
    assert [(e.line, file) for e, file in found] == [
        (8, "tests/test_gone.py"),
        (18, "tests/sub/test_moved.py"),
    ]
    assert quarantine.naming_missing_files(expired, tests, tmp_path, today) == []


@pytest.mark.parametrize(
    ("tests", "checkout"),
    [
        (["tests/test_db.py::test_plain"], []),  # merge run without a checkout
        # ids relative to the directory above the project: pytest's rootdir was another
        (["proj/tests/test_db.py::test_plain"], ["tests/test_db.py"]),
        ([], ["tests/test_db.py"]),
    ],
)
def test_no_file_is_called_gone_unless_the_runs_own_tests_are_found_there(
    tmp_path: Path, tests: list[str], checkout: list[str]
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    for file in checkout:
        (project / file).parent.mkdir(parents=True, exist_ok=True)
        (project / file).write_text("")
    register = _register_of("tests/test_gone.py::test_x")
    found = quarantine.naming_missing_files(register, tests, project, dt.date(2026, 1, 1))
    assert found == []
