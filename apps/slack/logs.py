"""Keep Slack's libraries from writing chart text into logs.

Bolt logs a rejected request's whole raw body at INFO (`slack_bolt.RequestVerification`), an
unhandled request's body at WARNING, and slack_sdk logs every Web API request and response body
at DEBUG: a pasted note, a file's name, the quotes we post. Filters on loggers miss the child
loggers Bolt creates as it goes, and stopping propagation misses handlers attached to the
libraries' loggers themselves (pytest's capture does exactly that). So the records are made safe
where they are made: a log-record factory rewrites every record of those libraries to the
message's leading words ("Invalid request signature detected"), and an exception to its class
and traceback frames, never its message. Level, logger name and place stay as they were, so
logging configuration works as usual. Our own modules log ids, counts and error classes only.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Any

# slack_bolt, slack_sdk and slack_sdk's legacy `slack` alias. Bolt names its listener loggers
# after the app, so the app is named "slack_bolt.codesense" to keep them in the namespace.
LIBRARY_PREFIXES = ("slack_bolt", "slack_sdk", "slack")
APP_NAME = "slack_bolt.codesense"

# The words a library message starts with, before any value it interpolates: "Unhandled
# request ({...})", "Sending a request - url: ...", "Failed to run listener function (error: ...)".
_LEAD = re.compile(r"^[A-Za-z][A-Za-z ,'_-]{0,79}")
_CUT = re.compile(r"[(:{\[=<\"]| - ")
_lock = threading.Lock()
_installed = False


def safe_summary(message: str) -> str:
    """The leading plain words of a library message, or a fixed phrase when there are none."""
    head = _CUT.split(message, maxsplit=1)[0]
    lead = _LEAD.match(head)
    words = lead.group(0).strip(" ,'_-") if lead else ""
    return words if len(words) >= 3 else "(message withheld)"


def is_library(name: str) -> bool:
    return any(name == p or name.startswith((p + ".", p + ":")) for p in LIBRARY_PREFIXES)


def sanitize(record: logging.LogRecord) -> None:
    """Rewrite a library record in place: its format string and arguments (where bodies go)
    become the summary; an exception becomes its class name and frames."""
    summary = safe_summary(str(record.msg))
    if record.exc_info and record.exc_info[1] is not None:
        err = record.exc_info[1]
        frames = "".join(traceback.format_tb(err.__traceback__)).rstrip()
        summary = f"{summary} [{type(err).__name__}]\n{frames}"
        record.exc_info = None
        record.exc_text = None
    record.msg = summary
    record.args = None


def install_log_gate() -> None:
    """Install the record factory (once per process; it wraps whatever factory was set)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if is_library(record.name):
                sanitize(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
