"""Counted nouns in sentences built in Python (messages, job results, rule descriptions): the
template filter `pluralize` does this in templates."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str = "") -> str:
    """The number with its noun in the right form: "1 source", "2 sources", "1,200 sources"."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
