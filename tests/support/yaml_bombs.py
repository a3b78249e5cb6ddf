"""YAML whose aliases a walk over the data meets as copies: small to compose, huge to walk."""

from __future__ import annotations


def aliases_of_aliases(levels: int, indent: str = "", width: int = 10) -> str:
    """Lines ``a0`` to ``a{levels - 1}`` whose last anchor names ``width ** levels`` strings
    (a YAML bomb at nine levels)."""
    lines = [f"{indent}a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    lines += [
        f"{indent}a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]" for n in range(1, levels)
    ]
    return "\n".join(lines) + "\n"


def nested_anchors(anchors: int, depth: int, indent: str = "") -> str:
    """Lines ``a0`` to ``a{anchors - 1}``, each anchor ``depth`` levels deep in the one
    before: composing recurses ``depth`` levels, a walk ``anchors * depth``."""
    lines = [f"{indent}a0: &a0 " + "[" * depth + "x" + "]" * depth]
    lines += [
        f"{indent}a{n}: &a{n} " + "[" * depth + f"*a{n - 1}" + "]" * depth
        for n in range(1, anchors)
    ]
    return "\n".join(lines) + "\n"
