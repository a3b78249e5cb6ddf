"""RFC 6962 Merkle tree hashes and inclusion proofs (section 2.1)."""

from __future__ import annotations

import hashlib


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_hash(leaves: list[bytes]) -> bytes:
    """MTH over already-hashed leaves."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_hash(leaves[:k]), root_hash(leaves[k:]))


def inclusion_proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(index, leaves): the audit path from the leaf up to the root, bottom first."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is outside a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root_hash(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root_hash(leaves[:k])]


def root_from_proof(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """The root an audit path leads to (RFC 9162 2.1.3.2), for checking our own proofs."""
    fn, sn, current = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ValueError("proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            current = node_hash(sibling, current)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            current = node_hash(current, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("proof is shorter than the tree is deep")
    return current
