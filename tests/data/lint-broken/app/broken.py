"""Deliberate lint defects; each is asserted on its line by the workflow test."""

import subprocess


def order_total(prices: list[float]) -> int:
    return round(sum(prices), 2)


def label(count: int) -> str:
    return "orders: " + count


def pad(text :str) -> str:
    return text.ljust(10)
