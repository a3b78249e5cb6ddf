"""pytest's JUnit XML, read safely and mapped back to node ids; merged into one report.

The reports come from the user's test run, so they are untrusted: a document with a DOCTYPE,
where entities are declared, is refused by a first pass of expat that stops there, in any
encoding, before anything is expanded (no entity expansion, no external references).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from xml.parsers import expat

from shipline.ansi import plain
from shipline.errors import ToolFailedError
from shipline.testmatrix.results import Outcome, TestResult

# The locations pytest prints in a failure's long report, the deepest last: "path.py:12: Error".
_CRASH_LINE = re.compile(r"^(?P<path>[^\s:][^:\n]*?\.py):(?P<line>\d+): ", re.MULTILINE)
# a doctest's failing example, in a text file of any name too (--doctest-glob: .txt, .rst, .md)
_DOCTEST_LINE = re.compile(
    r"^(?P<path>[^\s:][^:\n]*?):(?P<line>\d+): (?:DocTestFailure|UnexpectedException)$",
    re.MULTILINE,
)
# the same frame in Python's own form, as --tb=native prints it (absolute paths)
_NATIVE_FRAME = re.compile(
    r'^\s*File "(?P<path>[^"\n]+\.py)", line (?P<line>\d+), in ', re.MULTILINE
)
# Frames in installed packages: not a line the project can fix, nor one a pull request shows.
_INSTALLED = re.compile(r"(^|/)(site-packages|dist-packages)/")
# pytest 9.2 and newer cut a long message attribute and point to the element text, which no
# reader of an annotation or a summary has (the job log may not show it all: --tb=no)
_SHORTENED = re.compile(r"\n\[(?P<note>[^\]\n]+); full report in element text\]\Z")
# What XML 1.0 cannot hold even escaped (control characters but tab, newline, carriage return;
# surrogates; U+FFFE and U+FFFF): written as pytest's JUnit writes them, #xNN
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What a test that failed, then passed on a rerun, carries in the merged report instead of its
# failure: Maven Surefire's names, which Jenkins and other JUnit readers show as flaky.
FLAKY_TAGS = {"failure": "flakyFailure", "error": "flakyError"}
# What a test case holds when it did not pass outright
_NOT_PASSED = {"failure", "error", *FLAKY_TAGS.values()}


class JUnitError(ToolFailedError):
    """A report that is missing, unsafe or unreadable: the run cannot be judged."""


def junit_key(nodeid: str) -> tuple[str, str]:
    """(classname, name) as pytest 9's junitxml plugin derives them from a node id."""
    return _mangled(*_split_parameters(nodeid))


def junit_keys(nodeid: str) -> set[tuple[str, str]]:
    """The keys any supported pytest writes: before 9 it looked for the parameters at the
    first "[" of the whole id, which differs for a directory whose name holds one; 9.2 closes
    what follows the first "[" after the module with a "]", one the id may not have there (a
    doctest of a file whose name holds a "[": ``notes[1].txt::notes[1].txt``)."""
    address, bracket, params = _split_parameters(nodeid)
    closed = f"{params.removesuffix(']')}]" if bracket else params
    return {junit_key(nodeid), _mangled(address, bracket, closed), _mangled(*nodeid.partition("["))}


def _split_parameters(nodeid: str) -> tuple[str, str, str]:
    """(address, "[", parameters), the parameters looked for after the module's path."""
    module, colons, rest = nodeid.partition("::")
    address, bracket, params = rest.partition("[")
    return module + colons + address, bracket, params


def _mangled(address: str, bracket: str, params: str) -> tuple[str, str]:
    names = address.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _parse(path: Path) -> ET.Element:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise JUnitError(f"no JUnit report at {path}: {error.strerror}") from None
    try:
        _refuse_doctype(data)
        return ET.fromstring(data)  # noqa: S314 - no DOCTYPE, so no entity, checked above
    except _DoctypeError:
        raise JUnitError(f"JUnit report {path} declares a DOCTYPE or entities: refused") from None
    except (ET.ParseError, expat.ExpatError, ValueError, LookupError) as error:
        # ValueError, LookupError: an encoding declared that expat cannot read
        raise JUnitError(f"JUnit report {path} is not well-formed XML: {error}") from None


class _DoctypeError(Exception):
    pass


def _refuse_doctype(data: bytes) -> None:
    """Reads ``data`` with expat only to its DOCTYPE, if it has one: pyexpat stops the parser
    as the handler raises, before the entities declared in it, or any use of them, are read
    (the tree builder's own doctype hook comes only after its whole input is parsed)."""

    def refuse(*_: object) -> None:
        raise _DoctypeError

    scanner = expat.ParserCreate()
    scanner.StartDoctypeDeclHandler = refuse
    scanner.Parse(data, True)


def read_report(
    path: Path, nodeids: Iterable[str], directory: Path | None = None
) -> list[TestResult]:
    """The results in a pytest JUnit report, each named by its collected node id; ``directory``
    is where pytest ran (it prints some frames, a doctest's, as absolute paths)."""
    root = _parse(path)
    by_key = {key: nodeid for nodeid in nodeids for key in junit_keys(nodeid)}
    return [
        _result(cases, by_key, directory)
        for suite in root.iter("testsuite")
        for cases in _cases_per_test(suite).values()
    ]


def _cases_per_test(suite: ET.Element) -> dict[tuple[str, str], list[ET.Element]]:
    """The ``<testcase>`` elements of each test of a suite, in report order: pytest writes a
    second one for a test whose call failed and whose teardown then errored."""
    cases: dict[tuple[str, str], list[ET.Element]] = {}
    for case in suite.iter("testcase"):
        if _names_a_test(case):
            cases.setdefault((case.get("classname", ""), case.get("name", "")), []).append(case)
    return cases


def _names_a_test(case: ET.Element) -> bool:
    """pytest leaves an empty ``<testcase/>``, no name and nothing in it, for a pytest-xdist
    worker that crashed while a rerun plugin runs the test again: no test of its own."""
    return bool(case.get("classname") or case.get("name") or len(case))


def _said(child: ET.Element) -> str:
    """A failure's message as JUnit holds it, saying where the whole of a cut one is."""
    return _SHORTENED.sub(
        r"\n[\g<note>; all of it is in the JUnit XML: the shard's, and merge's junit.xml]",
        plain(child.get("message", "")),
    )


def _result(
    cases: list[ET.Element], by_key: dict[tuple[str, str], str], directory: Path | None
) -> TestResult:
    first = cases[0]
    classname, name = first.get("classname", ""), first.get("name", "")
    nodeid = by_key.get((classname, name)) or _fallback_nodeid(first, classname, name)
    seconds = sum(_seconds(case) for case in cases)
    outcome, details = Outcome.PASSED, ""
    messages: list[str] = []
    for child in (child for case in cases for child in case):
        tag = child.tag
        if tag in ("failure", "error"):
            # a call that failed, then a teardown that errored: the first is the one to show
            # and place, the rest follow in its message (a subtest's skip before it, none)
            if outcome is Outcome.SKIPPED:
                messages = []
            found = Outcome.FAILED if tag == "failure" else Outcome.ERROR
            outcome = max(outcome, found, key=lambda o: o.rank)
            messages.append(_said(child) or tag)
            details = details or plain(child.text or "")  # FORCE_COLOR colours it too
        elif tag == "skipped" and outcome is Outcome.PASSED:
            outcome, messages = Outcome.SKIPPED, [plain(child.get("message", ""))]
    file, line = first.get("file") or None, _int(first.get("line"))
    if line is not None:
        line += 1  # pytest writes the 0-based line of the test's definition
    if outcome.failing:
        file, line = crash_location(details, directory) or (file, line)
    message = "; then ".join(messages)
    return TestResult(nodeid, outcome, seconds, message, details, file, line)


def _seconds(case: ET.Element) -> float:
    try:
        seconds = float(case.get("time", "0") or 0)
    except ValueError:
        return 0.0
    return seconds if 0 <= seconds < math.inf else 0.0  # negative, infinite, NaN: no time


def _fallback_nodeid(case: ET.Element, classname: str, name: str) -> str:
    file = case.get("file")
    if file:
        module = re.sub(r"\.py$", "", file.replace("/", "."))
        rest = classname[len(module) + 1 :].split(".") if classname.startswith(module) else []
        return "::".join([file, *[part for part in rest if part], name])
    return f"{classname}::{name}" if classname else name


def crash_location(details: str, directory: Path | None = None) -> tuple[str, int] | None:
    """The deepest frame in the project's own files (pytest prints those paths relative to its
    rootdir; a frame in the standard library or an installed package is absolute or lies in
    site-packages), so the annotation lands on a line of the pull request. A doctest's frame
    is absolute: under ``directory`` it is the project's too, as are --tb=native's frames."""
    frames = [
        *_CRASH_LINE.finditer(details),
        *_DOCTEST_LINE.finditer(details),
        *_NATIVE_FRAME.finditer(details),
    ]
    for match in sorted(frames, key=lambda frame: frame.start(), reverse=True):
        place = project_location(match["path"], int(match["line"]), directory)
        if place is not None:
            return place
    return None


def project_location(path: str, line: int, directory: Path | None) -> tuple[str, int] | None:
    """(path, line) relative to the project when the frame is in one of its own files."""
    path = _within(path.replace("\\", "/"), directory)  # backslashes: a Windows shard's frame
    if path.startswith(("/", "../")) or _INSTALLED.search(path):
        return None
    return path, line


def _within(path: str, directory: Path | None) -> str:
    """``path`` relative to ``directory`` when it is an absolute path inside it."""
    if directory is None or not path.startswith("/"):
        return path
    frame, root = PurePosixPath(path), PurePosixPath(directory.as_posix())
    return frame.relative_to(root).as_posix() if frame.is_relative_to(root) else path


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class ShardReport(NamedTuple):
    path: Path  # the JUnit report of the shard's first attempt
    name: str  # what its suites are renamed to
    # node ids that failed there, then passed on a rerun, with how their first failure shows
    # (flakyFailure, or flakyError for an error), its message and details
    flaky: Mapping[str, tuple[str, str, str]]
    # node ids that did not pass at first in an earlier run attempt, with the element that
    # says so here (failure, error, flakyFailure, flakyError), its message and details: what
    # the newer attempt wrote for them (a pass, a skip) is not what the merge judged
    earlier: Mapping[str, tuple[str, str, str]] = {}
    # node ids the merge judged failed, with their message and details: what JUnit shows of
    # some is no failure (see ``_shown_failed``)
    failed: Mapping[str, tuple[str, str]] = {}
    # node ids of failing tests the quarantine held, with why (see ``_shown_quarantined``)
    quarantined: Mapping[str, str] = {}


def write_merged(target: Path, shards: Sequence[ShardReport]) -> list[int]:
    """One ``<testsuites>`` document holding every shard's suites, renamed after their shard.

    Each test shows as the merge judged it: a flaky test's failure becomes a ``flakyFailure``
    (or ``flakyError``) and the test counts as passed, a failed test shows as failed, a
    quarantined failure as skipped. Returns how many tests each report held.
    """
    merged = ET.Element("testsuites")
    cases_per_report = []
    for shard in shards:
        root = _parse(shard.path)
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            suite.set("name", shard.name)
            for empty in [c for c in suite.findall("testcase") if not _names_a_test(c)]:
                suite.remove(empty)
        _show_judged(suites, shard)
        for suite in suites:
            _count(suite)
            merged.append(suite)
        cases_per_report.append(sum(len(_cases_per_test(suite)) for suite in suites))
    _count(merged)
    merged.set("time", f"{sum(float(s.get('time', '0') or 0) for s in merged):.3f}")
    target.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(merged).write(target, encoding="utf-8", xml_declaration=True)
    return cases_per_report


def _show_judged(suites: Sequence[ET.Element], shard: ShardReport) -> None:
    """Rewrite the cases of the tests the merge judged otherwise than their JUnit report says."""
    parents = {case: suite for suite in suites for case in suite.findall("testcase")}
    by_key: dict[tuple[str, str], list[ET.Element]] = {}
    for case in parents:
        by_key.setdefault(_key(case), []).append(case)
    for nodeid, (tag, message, details) in shard.earlier.items():  # before the flaky: its own
        _shown_earlier(_cases_of(by_key, nodeid), tag, message, details)
    for nodeid, (tag, message, details) in shard.flaky.items():
        _shown_flaky(_cases_of(by_key, nodeid), tag, message, details)
    for nodeid, (message, details) in shard.failed.items():
        _shown_failed(_cases_of(by_key, nodeid), message, details)
    # pytest-rerunfailures leaves an empty case for each earlier attempt, which a JUnit reader
    # counts a pass: gone beside a case that did not pass (under --dist each, so is a pass on
    # another worker: the test failed)
    for cases in by_key.values():
        if any(c.tag in _NOT_PASSED for case in cases for c in case):
            for case in cases:
                if not any(c.tag in _NOT_PASSED or c.tag == "skipped" for c in case):
                    parents[case].remove(case)
    for nodeid, why in shard.quarantined.items():
        for case in _cases_of(by_key, nodeid):
            _shown_quarantined(case, why)


def _cases_of(by_key: Mapping[tuple[str, str], list[ET.Element]], nodeid: str) -> list[ET.Element]:
    return [case for key in junit_keys(nodeid) for case in by_key.get(key, [])]


def _shown_earlier(cases: Sequence[ET.Element], tag: str, message: str, details: str) -> None:
    """What an earlier run attempt's failure came to, on the newer attempt's last case (a skip
    there is no pass)."""
    for case in cases:
        for child in case.findall("skipped"):
            case.remove(child)
    if cases:
        ET.SubElement(cases[-1], tag, message=_xml_text(message)).text = _xml_text(details)


def _shown_flaky(cases: Sequence[ET.Element], tag: str, message: str, details: str) -> None:
    """A flaky test's failure as a ``flakyFailure`` (or ``flakyError``, ``tag``): it passed in
    the end. pytest-rerunfailures leaves the failed attempt's case empty: its first failure goes
    on the last case."""
    for case in cases:
        for child in case:
            child.tag = FLAKY_TAGS.get(child.tag, child.tag)
    if cases and not any(
        case.find(tag) is not None for case in cases for tag in FLAKY_TAGS.values()
    ):
        ET.SubElement(cases[-1], tag, message=_xml_text(message)).text = _xml_text(details)


def _key(case: ET.Element) -> tuple[str, str]:
    return case.get("classname", ""), case.get("name", "")


def _shown_failed(cases: Sequence[ET.Element], message: str, details: str) -> None:
    """The test cases of a test the merge judged failed, showing it failed: JUnit files a test
    whose pytest-xdist worker died under it as an error "failed on setup", and a test that
    pytest-rerunfailures failed, then skipped on its rerun, as an empty case (the failed
    attempt) and a skipped one."""
    for case in cases:
        for child in case.findall("error"):
            child.tag = "failure"
            child.set("message", _xml_text(message))
    if not cases or any(case.find("failure") is not None for case in cases):
        return
    last = cases[-1]
    for child in last.findall("skipped"):
        last.remove(child)
    ET.SubElement(last, "failure", message=_xml_text(message)).text = _xml_text(details)


def _xml_text(text: str) -> str:
    """``text`` that an XML document can hold (a register's reason may hold any character)."""
    return _NOT_XML.sub(lambda found: f"#x{ord(found.group()):02X}", text)


def _shown_quarantined(case: ET.Element, why: str) -> None:
    """A failing test the quarantine held does not fail the run: like pytest's xfail, its
    failure shows as a skip, with what it was (a JUnit reader would count a failure failed)."""
    for child in case:
        if child.tag in ("failure", "error"):
            said = child.get("message", "")
            child.attrib.clear()
            child.tag = "skipped"
            child.set("type", "shipline.quarantined")
            child.set("message", _xml_text(f"{why}: {said}" if said else why))


def _count(element: ET.Element) -> None:
    """The totals of a suite (or of all suites) from its test cases, not from what it claims."""
    cases = list(element.iter("testcase"))
    element.set("tests", str(len(cases)))
    for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        element.set(attribute, str(sum(1 for case in cases if case.find(tag) is not None)))
