"""Every YAML example in the project's Markdown docs is YAML: users copy them whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.paths import ROOT

DOCS = sorted(
    path
    for path in ROOT.glob("**/*.md")
    if not any(
        part.startswith(".") or part in ("node_modules", "tests")
        for part in path.relative_to(ROOT).parts
    )
)
YAML_BLOCK = re.compile(r"^```ya?ml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def yaml_blocks(text: str) -> list[tuple[int, str]]:
    """Each ```yaml block with the line its text starts on."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in YAML_BLOCK.finditer(text)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_yaml_examples_parse(doc: Path) -> None:
    for line, block in yaml_blocks(doc.read_text(encoding="utf-8")):
        try:
            yaml.safe_load(block)
        except yaml.YAMLError as error:
            pytest.fail(f"{doc.relative_to(ROOT)}:{line}: the example is not YAML: {error}")


def test_a_broken_example_is_found() -> None:
    text = "intro\n```yaml\n- run: echo '{\"a\": 1}' > f\n```\n"
    ((line, block),) = yaml_blocks(text)
    assert line == 3
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(block)


def test_the_docs_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in DOCS}
    assert {"README.md", "src/shipline/testmatrix/README.md"} <= names
