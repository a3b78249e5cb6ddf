"""JUnit XML read defensively, and Python versions from a project's metadata."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from shipline.testmatrix import pythons
from shipline.testmatrix.junit import (
    JUnitError,
    ShardReport,
    crash_location,
    junit_key,
    read_report,
    write_merged,
)
from shipline.testmatrix.results import Outcome

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3" time="0.5">
<testcase classname="tests.test_a.TestX" name="test_p[a::b]" file="tests/test_a.py" line="9" time="0.25"/>
<testcase classname="tests.test_a" name="test_fail" file="tests/test_a.py" line="2" time="0.125">
<failure message="assert 1 == 2">def test_fail():
&gt;       assert 1 == 2
E       assert 1 == 2

tests/test_a.py:4: AssertionError</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="6" time="0.0">
<skipped type="pytest.skip" message="no db">tests/test_a.py:7: no db</skipped></testcase>
</testsuite></testsuites>
"""


def test_a_failure_after_a_subtest_s_skip_is_told_without_the_skip(tmp_path: Path) -> None:
    # pytest 9 writes a skipped subtest into its test's case, before the test's own failure
    (tmp_path / "r.xml").write_text(
        '<testsuite><testcase classname="tests.test_a" name="test_sub" time="0.1">'
        '<skipped message="not on this platform"/><failure message="AssertionError: boom">'
        "tests/test_a.py:9: AssertionError</failure></testcase></testsuite>"
    )
    (result,) = read_report(tmp_path / "r.xml", ["tests/test_a.py::test_sub"])
    assert (result.outcome, result.message) == (Outcome.FAILED, "AssertionError: boom")


def test_an_empty_testcase_a_crashed_worker_left_is_no_test(tmp_path: Path) -> None:
    # pytest-xdist and a rerun plugin: pytest opens a case for the crash, then records nothing
    (tmp_path / "r.xml").write_text(
        '<testsuite><testcase time="0.000"/><testcase classname="tests.test_a" name="test_ok" '
        'time="0.1"/><testcase time="0.000"></testcase></testsuite>'
    )
    results = read_report(tmp_path / "r.xml", ["tests/test_a.py::test_ok"])
    assert [r.nodeid for r in results] == ["tests/test_a.py::test_ok"]
    merged = tmp_path / "all.xml"
    assert write_merged(merged, [ShardReport(tmp_path / "r.xml", "s", {})]) == [1]
    assert merged.read_text().count("<testcase") == 1 and 'tests="1"' in merged.read_text()


def test_junit_key_matches_pytest_address_mangling() -> None:
    assert junit_key("tests/unit/test_a.py::TestX::test_p[a::b/c.py]") == (
        "tests.unit.test_a.TestX",
        "test_p[a::b/c.py]",
    )


def test_report_maps_back_to_node_ids_with_outcomes_and_lines(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text(REPORT)
    ids = [
        "tests/test_a.py::TestX::test_p[a::b]",
        "tests/test_a.py::test_fail",
        "tests/test_a.py::test_skip",
    ]
    results = {r.nodeid: r for r in read_report(tmp_path / "r.xml", ids)}
    assert set(results) == set(ids)
    failed = results["tests/test_a.py::test_fail"]
    assert (failed.outcome, failed.message, failed.file, failed.line) == (
        Outcome.FAILED,
        "assert 1 == 2",
        "tests/test_a.py",
        4,  # the crash line, not the definition
    )
    passed = results["tests/test_a.py::TestX::test_p[a::b]"]
    assert (passed.outcome, passed.seconds, passed.line) == (Outcome.PASSED, 0.25, 10)
    assert results["tests/test_a.py::test_skip"].outcome is Outcome.SKIPPED


def test_a_report_pytest_coloured_is_read_as_plain_text(tmp_path: Path) -> None:
    # FORCE_COLOR=1: pytest colours the traceback and writes ESC, which XML cannot hold, as #x1B
    (tmp_path / "r.xml").write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_a" name="test_fail" file="tests/test_a.py" line="1">'
        '<failure message="#x1B[31massert 1 == 2#x1B[0m">#x1B[0m#x1B[94mdef#x1B[39;49;00m '
        "test_fail():\n#x1B[1m#x1B[31mtests/test_a.py#x1B[0m:4: in test_fail\n"
        "</failure></testcase></testsuite></testsuites>"
    )
    (failed,) = read_report(tmp_path / "r.xml", ["tests/test_a.py::test_fail"])
    assert (failed.message, failed.file, failed.line) == ("assert 1 == 2", "tests/test_a.py", 4)
    assert "#x1B" not in failed.details


def test_a_native_traceback_is_placed_on_the_project_s_deepest_frame(tmp_path: Path) -> None:
    # --tb=native: Python's own frames, with absolute paths
    details = (
        "Traceback (most recent call last):\n"
        f'  File "{tmp_path}/tests/test_b.py", line 18, in test_helper_fail\n'
        "    helper()\n"
        f'  File "{tmp_path}/tests/test_b.py", line 14, in helper\n'
        '    raise ValueError("boom")\n'
        '  File "/usr/lib/python3.11/site-packages/lib.py", line 3, in deep\n'
        "ValueError: boom\n"
    )
    assert crash_location(details, tmp_path) == ("tests/test_b.py", 14)
    assert crash_location(details) is None  # absolute frames of an unknown directory: none


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><testsuites>&a;</testsuites>',
        '<!DOCTYPE x SYSTEM "file:///etc/passwd"><testsuites/>',
        '<!DOCTYPE testsuites [<!ENTITY a "aaaa">]><testsuites name="&a;"/>',
    ],
)
@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-16-be"])
def test_doctype_and_entities_are_refused(tmp_path: Path, text: str, codec: str) -> None:
    # in every encoding expat reads: a scan of the bytes for "<!DOCTYPE" misses UTF-16
    encoding = codec.removesuffix("-be")
    declared = text.replace('version="1.0"?>', f'version="1.0" encoding="{encoding}"?>')
    bom = "\ufeff" if codec == "utf-16-be" else ""  # "utf-16" writes its own
    (tmp_path / "r.xml").write_bytes((bom + declared).encode(codec))
    with pytest.raises(JUnitError, match="DOCTYPE or entities: refused"):
        read_report(tmp_path / "r.xml", [])


def test_a_doctype_is_refused_before_its_entities_are_expanded(tmp_path: Path) -> None:
    # a billion laughs: expat's own amplification limit (2.4+) would stop it later, as a
    # malformed document; refused at the DOCTYPE, none of it is expanded
    entities = ['<!ENTITY e0 "lol">'] + [
        f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 10)
    ]
    text = f'<!DOCTYPE t [{"".join(entities)}]><testsuites name="&e9;"/>'
    (tmp_path / "r.xml").write_text(text)
    with pytest.raises(JUnitError, match="DOCTYPE or entities: refused"):
        read_report(tmp_path / "r.xml", [])


def test_a_utf_16_report_without_a_doctype_is_read(tmp_path: Path) -> None:
    wide = REPORT.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    (tmp_path / "r16.xml").write_bytes(wide)
    (tmp_path / "r8.xml").write_text(REPORT, encoding="utf-8")
    read = read_report(tmp_path / "r16.xml", [])
    assert read == read_report(tmp_path / "r8.xml", [])
    assert read


@pytest.mark.parametrize("encoding", ["utf-16-be", "shift_jis", "no-such-encoding"])
def test_a_report_in_an_encoding_expat_cannot_read_is_refused(
    tmp_path: Path, encoding: str
) -> None:
    (tmp_path / "r.xml").write_bytes(
        f'<?xml version="1.0" encoding="{encoding}"?><testsuites/>'.encode()
    )
    with pytest.raises(JUnitError, match="is not well-formed XML"):
        read_report(tmp_path / "r.xml", [])


def test_missing_or_broken_reports_block(tmp_path: Path) -> None:
    with pytest.raises(JUnitError, match="no JUnit report"):
        read_report(tmp_path / "absent.xml", [])
    (tmp_path / "cut.xml").write_text(REPORT[:200])
    with pytest.raises(JUnitError, match="not well-formed"):
        read_report(tmp_path / "cut.xml", [])


def test_merged_report_keeps_every_suite_under_its_shard_name(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(REPORT)
    (tmp_path / "b.xml").write_text(REPORT)
    write_merged(
        tmp_path / "all.xml",
        [ShardReport(tmp_path / f"{n}.xml", f"shard-{i}of2", {}) for i, n in ((1, "a"), (2, "b"))],
    )
    ids = ["tests/test_a.py::test_fail"]
    assert [r.outcome for r in read_report(tmp_path / "all.xml", ids)].count(Outcome.FAILED) == 2
    text = (tmp_path / "all.xml").read_text()
    assert 'name="shard-1of2"' in text and 'name="shard-2of2"' in text
    assert 'tests="6"' in text and 'failures="2"' in text


# a day on which 3.10 to 3.14 are the supported lines
BEFORE_3_15 = dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    ("today", "lines"),
    [
        (dt.date(2026, 9, 30), ["3.10", "3.11", "3.12", "3.13", "3.14"]),
        (dt.date(2026, 10, 1), ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]),
        (dt.date(2026, 10, 31), ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]),
        (dt.date(2026, 11, 1), ["3.11", "3.12", "3.13", "3.14", "3.15"]),  # 3.10's end of life
        (dt.date(2040, 1, 1), ["3.15"]),  # a table this old still plans its newest line
    ],
)
def test_the_supported_lines_follow_the_day_of_the_plan(today: dt.date, lines: list[str]) -> None:
    assert pythons.supported(today) == lines
    assert pythons.project_versions({"project": {"requires-python": ">=3.8"}}, today) == lines


@pytest.mark.parametrize(
    ("project", "expected"),
    [
        ({"requires-python": ">=3.11"}, ["3.11", "3.12", "3.13", "3.14"]),
        ({"requires-python": ">=3.10,<3.13"}, ["3.10", "3.11", "3.12"]),
        ({"requires-python": "~=3.12"}, ["3.12", "3.13", "3.14"]),
        ({"requires-python": ">=3.11,!=3.12.*"}, ["3.11", "3.13", "3.14"]),
        ({"requires-python": "!=3.14.1,>=3.12"}, ["3.12", "3.13", "3.14"]),
        # a minor line counts when some patch release of it satisfies every clause (PEP 440)
        ({"requires-python": ">3.11"}, ["3.11", "3.12", "3.13", "3.14"]),
        ({"requires-python": ">3.13.40"}, ["3.13", "3.14"]),
        ({"requires-python": "~=3.10.2"}, ["3.10"]),
        ({"requires-python": "<3.12.5"}, ["3.10", "3.11", "3.12"]),
        ({"requires-python": "<3.12"}, ["3.10", "3.11"]),
        ({"requires-python": "<=3.12.0"}, ["3.10", "3.11", "3.12"]),
        ({"requires-python": "!=3.12.*"}, ["3.10", "3.11", "3.13", "3.14"]),
        ({"requires-python": "==3.11.*"}, ["3.11"]),
        ({"requires-python": "==3.11"}, ["3.11"]),
        ({"requires-python": "== 3.11.4"}, ["3.11"]),
        ({"requires-python": "==3.11.0.*"}, ["3.11"]),
        ({"requires-python": "==3.11.0.0.*"}, ["3.11"]),  # 3.11.0 is padded to 3.11.0.0
        ({"requires-python": ">=3.11.1,<3.11.2"}, ["3.11"]),
        # a pre-, development or post-release is a point just below or above its release
        ({"requires-python": ">=3.12.0rc1"}, ["3.12", "3.13", "3.14"]),
        ({"requires-python": ">=3.12RC1"}, ["3.12", "3.13", "3.14"]),
        ({"requires-python": ">3.12.0b2"}, ["3.12", "3.13", "3.14"]),
        ({"requires-python": ">=3.11.0.dev0"}, ["3.11", "3.12", "3.13", "3.14"]),
        ({"requires-python": "<3.13.0a1"}, ["3.10", "3.11", "3.12"]),
        ({"requires-python": "<=3.13.0rc2"}, ["3.10", "3.11", "3.12"]),
        ({"requires-python": "~=3.12.0rc1"}, ["3.12"]),
        ({"requires-python": "!=3.12.0rc1,>=3.12"}, ["3.12", "3.13", "3.14"]),
        ({"requires-python": "<=3.11.0.post1"}, ["3.10", "3.11"]),
        (
            {
                "requires-python": ">=3.11",
                "classifiers": [
                    "Programming Language :: Python :: 3",
                    "Programming Language :: Python :: 3.10",
                    "Programming Language :: Python :: 3.12",
                    "Programming Language :: Python :: 3.11",
                ],
            },
            ["3.11", "3.12"],
        ),
        ({}, []),
    ],
)
def test_python_versions_from_the_project(project: dict[str, object], expected: list[str]) -> None:
    assert pythons.project_versions({"project": project}, BEFORE_3_15) == expected


# no patch release lies between 3.11.1 and 3.11.2, and 3.12.0.x is not a CPython release line
@pytest.mark.parametrize(
    "spec",
    [">=3.8,<3.10", ">3.11.1,<3.11.2", "~=3.12.0.1", "==3.12.0rc1", "==3.11.0.post1", "==3.11.0-1"],
)
def test_a_requires_python_that_matches_no_supported_line_is_an_error(spec: str) -> None:
    with pytest.raises(pythons.SpecifierError) as caught:
        pythons.project_versions({"project": {"requires-python": spec}}, BEFORE_3_15)
    assert str(caught.value) == (
        f"requires-python {spec!r} matches none of the supported CPython lines "
        "(3.10, 3.11, 3.12, 3.13, 3.14)"
    )


def test_a_requires_python_that_excludes_every_classifier_is_an_error() -> None:
    project = {
        "requires-python": ">=3.13",
        "classifiers": ["Programming Language :: Python :: 3.11"],
    }
    with pytest.raises(pythons.SpecifierError, match=r"the classifiers \(3\.11\)$"):
        pythons.project_versions({"project": project}, BEFORE_3_15)


@pytest.mark.parametrize(
    ("pyproject", "reason"),
    [
        ({"project": "x"}, "[project] must be a table"),
        ({"project": {"classifiers": 5}}, "project.classifiers must be a list of strings"),
        (
            {"project": {"classifiers": "Programming Language :: Python :: 3.12"}},
            "project.classifiers must be a list of strings",
        ),
        ({"project": {"classifiers": [3.12]}}, "project.classifiers must be a list of strings"),
        (
            {"project": {"requires-python": 3}},
            "project.requires-python must be a string, such as '>=3.11'",
        ),
    ],
)
def test_a_pyproject_of_the_wrong_shape_is_an_error(
    pyproject: dict[str, object], reason: str
) -> None:
    with pytest.raises(pythons.SpecifierError) as caught:
        pythons.project_versions(pyproject, BEFORE_3_15)
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (">= three", "cannot read the version clause"),
        ("~=3", "~= needs at least two parts"),
        (">=3.*", "'.*' goes only with == or !="),
        ("~=3.11.*", "'.*' goes only with == or !="),
        ("==3.12.0rc1.*", "'.*' goes only with == or != and a release, such as ==3.12.*"),
        (">=3.12.0gamma1", "cannot read the version clause"),
        ("===3.11", "cannot read the version clause"),
    ],
)
def test_specifiers_outside_pep_440_are_errors(spec: str, reason: str) -> None:
    with pytest.raises(pythons.SpecifierError, match=re.escape(reason)):
        pythons.parse_specifier(spec)


def test_an_unreadable_requires_python_is_an_error() -> None:
    with pytest.raises(pythons.SpecifierError):
        pythons.project_versions({"project": {"requires-python": ">= three"}}, BEFORE_3_15)
