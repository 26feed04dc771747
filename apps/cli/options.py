"""Argument types shared by the commands."""

from __future__ import annotations

import argparse


def at_least_one(text: str) -> int:
    """A count option (--limit, --workers): a whole number of at least 1, else a usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value
