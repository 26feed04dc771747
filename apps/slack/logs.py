"""Keep Slack's libraries from writing chart text into logs.

Bolt logs a rejected request's whole raw body at INFO (`slack_bolt.RequestVerification`), an
unhandled request's body at WARNING, and slack_sdk logs every Web API request and response
body at DEBUG: a pasted note, a file's name, the quotes we post. A logging filter on those
loggers would miss the child loggers Bolt creates as it goes, so instead the libraries' top
loggers stop propagating and hand every record to one gate, which re-logs only the message's
leading words ("Invalid request signature detected") and, for an exception, its class and the
traceback's frames, never its message. Our own modules log ids, counts and error classes only.
"""

from __future__ import annotations

import logging
import re
import traceback

# Top-level loggers of slack_bolt and slack_sdk (and slack_sdk's legacy `slack` alias). Bolt
# names its listener loggers after the app, so the app is named "slack_bolt.codesense" to keep
# them under the gate too.
LIBRARY_LOGGERS = ("slack_bolt", "slack_sdk", "slack")
APP_NAME = "slack_bolt.codesense"
OUT = logging.getLogger("codesense.slack.library")

# The words a library message starts with, before any value it interpolates: "Unhandled
# request ({...})", "Sending a request - url: ...", "Failed to run listener function (error: ...)".
_LEAD = re.compile(r"^[A-Za-z][A-Za-z ,'_-]{0,79}")
_CUT = re.compile(r"[(:{\[=]| - ")


def safe_summary(message: str) -> str:
    """The leading plain words of a library message, or a fixed word when there are none."""
    head = _CUT.split(message, maxsplit=1)[0]
    lead = _LEAD.match(head)
    words = lead.group(0).strip() if lead else ""
    return words if len(words) >= 3 else "(message withheld)"


class LibraryGate(logging.Handler):
    """Receives every record of the Slack libraries and re-logs a safe line of it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if not OUT.isEnabledFor(record.levelno):
                return
            # The format string, not the formatted message: arguments are where bodies go. Bolt
            # formats its own f-strings, so the summary is cut at the first value either way.
            summary = safe_summary(str(record.msg))
            if record.exc_info and record.exc_info[1] is not None:
                err = record.exc_info[1]
                frames = "".join(traceback.format_tb(err.__traceback__))
                OUT.log(
                    record.levelno,
                    "%s: %s [%s]\n%s",
                    record.name,
                    summary,
                    type(err).__name__,
                    frames,
                )
            else:
                OUT.log(record.levelno, "%s: %s", record.name, summary)
        except Exception:
            # Not handleError(): it prints the record's message and arguments to stderr.
            return


_GATE = LibraryGate()


def install_log_gate() -> None:
    """Route the Slack libraries' logs through the gate (idempotent, process-wide)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.propagate = False
        if _GATE not in logger.handlers:
            logger.addHandler(_GATE)
