"""Markers by directory: tests/unit -> unit, tests/integration -> integration, and so on."""

from pathlib import Path

import pytest

TESTS_ROOT = Path(__file__).resolve().parent
LAYERS = ("unit", "integration", "contract")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = item.path.resolve().relative_to(TESTS_ROOT).parts[0]
        # A test outside the three layers would escape every `-m` selection CI makes.
        if layer not in LAYERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in tests/{{{','.join(LAYERS)}}}/")
        item.add_marker(getattr(pytest.mark, layer))
