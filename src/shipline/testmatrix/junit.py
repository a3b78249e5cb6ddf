"""pytest's JUnit XML, read safely and mapped back to node ids; merged into one report.

The reports come from the user's test run, so they are untrusted: a document with a DOCTYPE
or an entity declaration is refused before parsing (no entity expansion, no external
references), and the standard library parser does the rest.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from shipline.errors import ToolFailedError
from shipline.testmatrix.results import Outcome, TestResult

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# The crash location pytest prints last in a failure's long report: "path.py:12: Error".
_CRASH_LINE = re.compile(r"^(?P<path>[^\s:][^:\n]*?\.py):(?P<line>\d+): ", re.MULTILINE)


class JUnitError(ToolFailedError):
    """A report that is missing, unsafe or unreadable: the run cannot be judged."""


def junit_key(nodeid: str) -> tuple[str, str]:
    """(classname, name) as pytest's junitxml plugin derives them from a node id."""
    address, bracket, params = nodeid.partition("[")
    names = address.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _parse(path: Path) -> ET.Element:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise JUnitError(f"no JUnit report at {path}: {error.strerror}") from None
    if _FORBIDDEN.search(data):
        raise JUnitError(f"JUnit report {path} declares a DOCTYPE or entities: refused")
    try:
        return ET.fromstring(data)  # noqa: S314 - DOCTYPE and entities refused above
    except ET.ParseError as error:
        raise JUnitError(f"JUnit report {path} is not well-formed XML: {error}") from None


def read_report(path: Path, nodeids: Iterable[str]) -> list[TestResult]:
    """The results in a pytest JUnit report, each named by its collected node id."""
    root = _parse(path)
    by_key = {junit_key(nodeid): nodeid for nodeid in nodeids}
    return [_result(case, by_key) for case in root.iter("testcase")]


def _result(case: ET.Element, by_key: dict[tuple[str, str], str]) -> TestResult:
    classname, name = case.get("classname", ""), case.get("name", "")
    nodeid = by_key.get((classname, name)) or _fallback_nodeid(case, classname, name)
    try:
        seconds = max(0.0, float(case.get("time", "0") or 0))
    except ValueError:
        seconds = 0.0
    outcome, message, details = Outcome.PASSED, "", ""
    for child in case:
        tag = child.tag
        if tag in ("failure", "error"):
            found = Outcome.FAILED if tag == "failure" else Outcome.ERROR
            if found.rank > outcome.rank:
                outcome = found
                message = child.get("message", "") or tag
                details = child.text or ""
        elif tag == "skipped" and outcome is Outcome.PASSED:
            outcome, message = Outcome.SKIPPED, child.get("message", "")
    file, line = case.get("file") or None, _int(case.get("line"))
    if outcome.failing:
        crash = _crash_location(details)
        if crash is not None:
            file, line = crash
    elif line is not None:
        line += 1  # pytest writes the 0-based line of the test's definition
    return TestResult(nodeid, outcome, seconds, message, details, file, line)


def _fallback_nodeid(case: ET.Element, classname: str, name: str) -> str:
    file = case.get("file")
    if file:
        module = re.sub(r"\.py$", "", file.replace("/", "."))
        rest = classname[len(module) + 1 :].split(".") if classname.startswith(module) else []
        return "::".join([file, *[part for part in rest if part], name])
    return f"{classname}::{name}" if classname else name


def _crash_location(details: str) -> tuple[str, int] | None:
    matches = list(_CRASH_LINE.finditer(details))
    if not matches:
        return None
    last = matches[-1]
    return last["path"], int(last["line"])


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def write_merged(target: Path, reports: Sequence[Path], suite_names: Sequence[str]) -> None:
    """One ``<testsuites>`` document holding every shard's suites, renamed after their shard."""
    merged = ET.Element("testsuites")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    seconds = 0.0
    for report, suite_name in zip(reports, suite_names, strict=True):
        root = _parse(report)
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            suite.set("name", suite_name)
            for key in totals:
                totals[key] += _int(suite.get(key)) or 0
            seconds += float(suite.get("time", "0") or 0)
            merged.append(suite)
    for key, value in totals.items():
        merged.set(key, str(value))
    merged.set("time", f"{seconds:.3f}")
    target.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(merged).write(target, encoding="utf-8", xml_declaration=True)
