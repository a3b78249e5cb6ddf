from __future__ import annotations

import yaml

from shipline.yamllines import line_at


def test_line_at_points_at_keys_items_and_the_nearest_existing_parent() -> None:
    node = yaml.compose("top:\n  items:\n    - a\n    - name: b\n      nested:\n        deep: 1\n")
    assert line_at(node, []) == 1
    assert line_at(node, ["top", "items"]) == 2
    assert line_at(node, ["top", "items", 1]) == 4
    assert line_at(node, ["top", "items", 1, "nested"]) == 5
    assert line_at(node, ["top", "items", 1, "nested", "deep"]) == 6
    assert line_at(node, ["top", "items", 7, "name"]) == 2  # no item 7: its list's key line
    assert line_at(node, ["absent"]) == 1
