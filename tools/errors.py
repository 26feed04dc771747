"""Errors a person can act on: bad input, missing files, refused documents.

Each carries a one-line message meant for the user; surfaces print it (CLI) or return it as a 4xx
(HTTP) instead of a traceback. Messages name files by their base name only, never chart text.
"""


class CodeSenseError(Exception):
    """Base class: `str(err)` is the one-line message for the user."""

    exit_code = 2


class ChartInputError(CodeSenseError):
    """The input cannot be read as a chart (empty, binary, undecodable, too large, missing)."""


class DocumentRefused(ChartInputError):
    """A document we can read in principle but refuse (encrypted PDF, hostile PDF)."""


class RulesError(CodeSenseError):
    """A rule, lexicon or section file is invalid; the message names file and line."""


class UnknownCode(CodeSenseError):
    """A code that does not exist in the loaded code set."""
