"""Where a failure is placed, a test whose call and teardown both failed, and flaky tests in
the merged JUnit report."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from shipline.testmatrix.junit import ShardReport, junit_key, read_report, write_merged
from shipline.testmatrix.results import Outcome


def report(*cases: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites>'
        '<testsuite name="pytest" errors="9" failures="9" skipped="9" tests="9" time="0.5">'
        + "".join(cases)
        + "</testsuite></testsuites>"
    )


def failing(name: str, details: str, line: int = 9) -> str:
    return (
        f'<testcase classname="tests.test_a" name="{name}" file="tests/test_a.py" line="{line}" '
        f'time="0.1"><failure message="boom">{details}</failure></testcase>'
    )


def read_one(tmp_path: Path, case: str, nodeid: str) -> tuple[str | None, int | None, str]:
    (tmp_path / "r.xml").write_text(report(case))
    (result,) = read_report(tmp_path / "r.xml", [nodeid])
    return result.file, result.line, result.message


# pytest ends the test frame's location line with a space (its message is empty)
TRACEBACK_THROUGH = """def test_x():
&gt;       json.loads(text)

tests/test_a.py:12:{space}
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

{frames}
E   json.decoder.JSONDecodeError: Expecting value
"""


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        pytest.param(
            "/usr/lib/python3.11/json/decoder.py:353: JSONDecodeError", 12, id="standard library"
        ),
        pytest.param(
            ".venv/lib/python3.11/site-packages/yaml/parser.py:369: ParserError",
            12,
            id="installed package",
        ),
        pytest.param("../outside/helper.py:3: Error", 12, id="outside the rootdir"),
        pytest.param("src/app/core.py:6: ValueError", None, id="the project's own code"),
    ],
)
def test_a_failure_is_placed_on_the_deepest_line_of_the_project(
    tmp_path: Path, frames: str, expected: int | None
) -> None:
    details = TRACEBACK_THROUGH.format(frames=frames, space=" ")
    file, line, _ = read_one(tmp_path, failing("test_x", details), "tests/test_a.py::test_x")
    if expected is None:
        assert (file, line) == ("src/app/core.py", 6)
    else:
        assert (file, line) == ("tests/test_a.py", expected)


def test_a_windows_shard_s_location_uses_forward_slashes(tmp_path: Path) -> None:
    details = "tests\\unit\\test_a.py:7: AssertionError"
    file, line, _ = read_one(tmp_path, failing("test_x", details), "tests/test_a.py::test_x")
    assert (file, line) == ("tests/unit/test_a.py", 7)


def test_without_a_location_in_the_traceback_the_test_s_definition_is_used(tmp_path: Path) -> None:
    file, line, _ = read_one(
        tmp_path, failing("test_x", "no frames here"), "tests/test_a.py::test_x"
    )
    assert (file, line) == ("tests/test_a.py", 10)  # pytest writes the 0-based line


def test_a_failed_call_with_a_teardown_error_is_one_test_showing_the_call_first(
    tmp_path: Path,
) -> None:
    # pytest writes two test cases for it, the call's failure, then the teardown's error
    cases = (
        '<testcase classname="tests.test_a" name="test_x" file="tests/test_a.py" line="1" '
        'time="0.5"><failure message="AssertionError: call fails">'
        "tests/test_a.py:4: AssertionError</failure></testcase>"
        '<testcase classname="tests.test_a" name="test_x" file="tests/test_a.py" line="1" '
        'time="0.25"><error message="failed on teardown">'
        "tests/conftest.py:25: RuntimeError</error></testcase>"
    )
    (tmp_path / "r.xml").write_text(report(cases))
    (result,) = read_report(tmp_path / "r.xml", ["tests/test_a.py::test_x"])
    assert result.outcome is Outcome.ERROR
    assert result.message == "AssertionError: call fails; then failed on teardown"
    assert (result.file, result.line, result.seconds) == ("tests/test_a.py", 4, 0.75)
    assert write_merged(tmp_path / "all.xml", [ShardReport(tmp_path / "r.xml", "s", {})]) == [1]


def test_the_merged_report_shows_flaky_tests_as_passed_with_their_first_failure(
    tmp_path: Path,
) -> None:
    cases = [
        failing("test_flaky", "tests/test_a.py:3: E"),
        failing("test_bad", "tests/test_a.py:5: E"),
    ]
    (tmp_path / "a.xml").write_text(report(*cases))
    (tmp_path / "b.xml").write_text(report(*cases))
    counts = write_merged(
        tmp_path / "all.xml",
        [
            ShardReport(
                tmp_path / "a.xml",
                "shard-1of2-a",
                {"tests/test_a.py::test_flaky": ("flakyFailure", "boom", "")},
            ),
            ShardReport(tmp_path / "b.xml", "shard-1of2-b", {}),  # failed on every attempt here
        ],
    )
    assert counts == [2, 2]
    root = ET.parse(tmp_path / "all.xml").getroot()  # noqa: S314 - written just above
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "3", "0")
    first, second = root.findall("testsuite")
    assert first.get("failures") == "1" and second.get("failures") == "2"
    flaky = first.find("testcase[@name='test_flaky']")
    assert flaky is not None
    assert [child.tag for child in flaky] == ["flakyFailure"]
    results = read_report(tmp_path / "all.xml", ["tests/test_a.py::test_flaky"])
    assert [r.outcome for r in results if r.nodeid.endswith("test_flaky")] == [
        Outcome.PASSED,
        Outcome.FAILED,
    ]


def junit_case(name: str, inside: str = "") -> str:
    return (
        f'<testcase classname="tests.test_a" name="{name}" file="tests/test_a.py" time="0">'
        f"{inside}</testcase>"
    )


CRASH_ERROR = (
    "<error message=\"failed on setup with &quot;worker 'gw0' crashed&quot;\">"
    "worker 'gw0' crashed</error>"
)


def test_the_merged_report_shows_a_test_the_merge_judged_failed_as_failed(tmp_path: Path) -> None:
    cases = [
        junit_case("test_crash", CRASH_ERROR),  # a crashed worker: JUnit's error "failed on setup"
        # a failed call, then a crash in teardown: a failure and JUnit's crash error
        junit_case(
            "test_fail_crash", '<failure message="AssertionError">E</failure>' + CRASH_ERROR
        ),
        # pytest-rerunfailures: an empty case for the failed attempt, then the rerun's skip
        junit_case("test_fail_skip"),
        junit_case("test_fail_skip", '<skipped message="not today"/>'),
        junit_case("test_passes"),
    ]
    (tmp_path / "r.xml").write_text(report(*cases))
    judged = {
        f"tests/test_a.py::{name}": (f"{name} failed", "tests/test_a.py:3: E")
        for name in ("test_crash", "test_fail_crash", "test_fail_skip")
    }
    write_merged(tmp_path / "all.xml", [ShardReport(tmp_path / "r.xml", "s", {}, {}, judged)])
    root = ET.parse(tmp_path / "all.xml").getroot()  # noqa: S314 - written just above
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("3", "0", "0")

    def shown(name: str) -> list[list[tuple[str, str | None]]]:
        found = root.iterfind(f".//testcase[@name='{name}']")
        return [[(child.tag, child.get("message")) for child in c] for c in found]

    assert shown("test_crash") == [[("failure", "test_crash failed")]]
    assert shown("test_fail_crash") == [
        [("failure", "AssertionError"), ("failure", "test_fail_crash failed")]
    ]
    # the failed attempt's empty case is gone: a JUnit reader would count it a pass
    assert shown("test_fail_skip") == [[("failure", "test_fail_skip failed")]]
    assert root.findtext(".//testcase[@name='test_fail_skip']/failure") == "tests/test_a.py:3: E"
    assert shown("test_passes") == [[]]


def test_a_quarantined_failure_is_a_skip_that_says_why_in_characters_xml_can_hold(
    tmp_path: Path,
) -> None:
    failed = '<failure message="AssertionError: &lt;x&gt;">tests/test_a.py:3: E</failure>'
    (tmp_path / "r.xml").write_text(report(junit_case("test_held", failed)))
    why = {"tests/test_a.py::test_held": "quarantined until 2999-12-31: a \x01 in <it> & \ufffe"}
    write_merged(tmp_path / "all.xml", [ShardReport(tmp_path / "r.xml", "s", {}, {}, {}, why)])
    root = ET.parse(tmp_path / "all.xml").getroot()  # noqa: S314 - it parses: nothing illegal
    assert (root.get("failures"), root.get("skipped")) == ("0", "1")
    (skip,) = root.iterfind(".//testcase[@name='test_held']/skipped")
    assert skip.attrib == {
        "type": "shipline.quarantined",
        "message": "quarantined until 2999-12-31: a #x01 in <it> & #xFFFE: AssertionError: <x>",
    }
    assert skip.text == "tests/test_a.py:3: E"


def test_the_merged_report_holds_one_case_for_each_attempt_a_rerun_plugin_left_empty(
    tmp_path: Path,
) -> None:
    # pytest-rerunfailures writes an empty case for each earlier attempt: a reader counts a pass
    error = '<error message="failed on setup with &quot;refused&quot;">E</error>'
    cases = [
        junit_case("test_errors"),
        junit_case("test_errors"),
        junit_case("test_errors", error),
        # failed in run attempt 1, flaky under the plugin in this newer attempt
        junit_case("test_flaky_again"),
        junit_case("test_flaky_again"),
        junit_case("test_passes"),  # under --dist each, two workers passed it
        junit_case("test_passes"),
    ]
    (tmp_path / "r.xml").write_text(report(*cases))
    again = "tests/test_a.py::test_flaky_again"
    shard = ShardReport(
        tmp_path / "r.xml",
        "s",
        {again: ("flakyFailure", "not yet", "tests/test_a.py:9: E")},
        {again: ("flakyFailure", "failed in run attempt 1 \x01", "tests/test_a.py:9: E")},
    )
    assert write_merged(tmp_path / "all.xml", [shard]) == [3]
    root = ET.parse(tmp_path / "all.xml").getroot()  # noqa: S314 - it parses: nothing illegal
    shown = [(c.get("name"), [child.tag for child in c]) for c in root.iter("testcase")]
    assert shown == [
        ("test_errors", ["error"]),
        ("test_flaky_again", ["flakyFailure"]),
        ("test_passes", []),
        ("test_passes", []),
    ]
    assert (root.get("tests"), root.get("errors"), root.get("failures")) == ("4", "1", "0")
    flaky = root.find(".//testcase[@name='test_flaky_again']/flakyFailure")
    assert flaky is not None and flaky.get("message") == "failed in run attempt 1 #x01"


def test_the_merged_report_leaves_an_error_of_a_test_the_merge_did_not_judge_failed(
    tmp_path: Path,
) -> None:
    (tmp_path / "r.xml").write_text(
        report(junit_case("test_setup", '<error message="boom">E</error>'))
    )
    write_merged(tmp_path / "all.xml", [ShardReport(tmp_path / "r.xml", "s", {})])
    root = ET.parse(tmp_path / "all.xml").getroot()  # noqa: S314 - written just above
    assert (root.get("failures"), root.get("errors")) == ("0", "1")


@pytest.mark.parametrize("note", ["+5 more lines", "truncated"])
def test_a_message_pytest_cut_points_to_the_junit_xml_that_holds_it(
    tmp_path: Path, note: str
) -> None:
    # pytest 9.2 and newer: the message attribute is cut, the element text holds all of it
    cut = f"AssertionError: assert bool is None&#10;[{note}; full report in element text]"
    case = (
        '<testcase classname="tests.test_a" name="test_x" file="tests/test_a.py" time="0.1">'
        f'<failure message="{cut}">tests/test_a.py:3: AssertionError</failure></testcase>'
    )
    (tmp_path / "r.xml").write_text(report(case))
    (result,) = read_report(tmp_path / "r.xml", ["tests/test_a.py::test_x"])
    assert result.message == (
        f"AssertionError: assert bool is None\n[{note}; all of it is in the JUnit XML: the "
        "shard's, and merge's junit.xml]"
    )


@pytest.mark.parametrize("time", ["inf", "nan", "-1", "x"])
def test_a_time_that_is_no_measurement_counts_as_zero(tmp_path: Path, time: str) -> None:
    case = (
        f'<testcase classname="tests.test_a" name="test_x" file="tests/test_a.py" time="{time}"/>'
    )
    (tmp_path / "r.xml").write_text(report(case))
    (result,) = read_report(tmp_path / "r.xml", ["tests/test_a.py::test_x"])
    assert result.seconds == 0.0


def test_junit_key_of_a_module_in_a_directory_whose_name_holds_a_bracket() -> None:
    # as pytest 9 writes them: classname "tests.[x].test_p", name "test_p[a::b]"
    assert junit_key("tests/[x]/test_p.py::test_p[a::b]") == ("tests.[x].test_p", "test_p[a::b]")
    assert junit_key("tests/[x]/test_p.py::TestC::test_m") == ("tests.[x].test_p.TestC", "test_m")


def test_a_report_of_pytest_before_9_maps_a_bracketed_directory_back_too(tmp_path: Path) -> None:
    # pytest 8 looked for parameters at the first "[" of the whole id
    case = (
        '<testcase classname="" name="tests.api[v2]/test_x.py::test_get" '
        'file="tests/api[v2]/test_x.py" line="0" time="0.001"/>'
    )
    (tmp_path / "r.xml").write_text(report(case))
    (result,) = read_report(tmp_path / "r.xml", ["tests/api[v2]/test_x.py::test_get"])
    assert result.nodeid == "tests/api[v2]/test_x.py::test_get"


@pytest.mark.parametrize(
    ("name", "text", "nodeid", "line"),
    [
        (
            "calc.py",
            'def add(a, b):\n    """Add.\n\n    >>> add(1, 1)\n    2\n    >>> add(2, 2)\n    5\n'
            '    """\n    return a + b\n',
            "src/calc.py::calc.add",
            6,
        ),
        # a text file's (--doctest-glob): any name, not only *.py
        (
            "usage.rst",
            "Usage\n=====\n\n>>> 1 + 1\n2\n>>> 2 + 2\n5\n",
            "src/usage.rst::usage.rst",
            6,
        ),
        ("notes.txt", "Notes\n\n>>> 1 / 0\n", "src/notes.txt::notes.txt", 3),  # an exception
    ],
)
def test_a_failing_doctest_is_placed_on_its_failing_example(
    tmp_path: Path, name: str, text: str, nodeid: str, line: int
) -> None:
    # pytest prints a doctest's location as an absolute path; a real run shows what it writes
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / name).write_text(text)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--doctest-modules"]
    done = subprocess.run(
        [
            *command,
            f"--doctest-glob={name}",
            "src",
            "--junitxml=r.xml",
            "-o",
            "junit_family=xunit1",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    (result,) = read_report(tmp_path / "r.xml", [nodeid], tmp_path)
    assert (result.outcome, result.file, result.line) == (Outcome.FAILED, f"src/{name}", line)
