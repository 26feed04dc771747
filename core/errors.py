"""Errors a person can act on: bad input, missing files, refused documents.

Each carries a one-line message meant for the user; surfaces print it (CLI) or return it as a 4xx
(HTTP) instead of a traceback. Messages name files by their base name only, never chart text.
"""


class CodeSenseError(Exception):
    """Base class: `str(err)` is the one-line message for the user."""

    exit_code = 2


class ChartInputError(CodeSenseError):
    """The input cannot be read as a chart (empty, binary, undecodable, too large, missing)."""


class ContentMismatch(ChartInputError):
    """A file's name says one kind ("note.txt") and its content another (a PDF)."""


class DocumentRefused(ChartInputError):
    """A document we can read in principle but refuse (encrypted PDF, hostile PDF)."""


class RulesError(CodeSenseError):
    """A rule, lexicon or section file is invalid; the message names file and line."""


class UnknownCode(CodeSenseError):
    """A code that does not exist in the loaded code set."""


class ChartTooLarge(ChartInputError):
    """A chart file or upload over the configured size limit."""


class UnsupportedContent(ChartInputError):
    """Content of a type we cannot read (an image, a CDA document, an attachment by URL only)."""


class InvalidFhir(ChartInputError):
    """A FHIR resource that does not parse, or that holds nothing we can code."""


class Forbidden(CodeSenseError):
    """The actor's role does not allow this operation."""


class Conflict(CodeSenseError):
    """The operation collides with another one in progress or already done (a second review)."""
