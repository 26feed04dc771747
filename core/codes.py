"""How ICD-10-CM codes are spelled: the one pattern and the dotted / undotted forms.

"e1121", "E11.21" and " e11.21 " are one code; the contract and the audit log write "E11.21",
the metrics compare "E1121".
"""

from __future__ import annotations

import re

# A category ("E11") or a code below it ("E11.21", "S72.001A"), dotted.
CODE_PATTERN = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
CODE = re.compile(rf"^{CODE_PATTERN}$")


def undot(code: str) -> str:
    """ "e11.21 " -> "E1121"."""
    return code.replace(".", "").upper().strip()


def dot(undotted: str) -> str:
    """ "E1121" -> "E11.21"; three characters or fewer stay as they are."""
    return undotted if len(undotted) <= 3 else f"{undotted[:3]}.{undotted[3:]}"


def normalize(code: str) -> str:
    """Canonical spelling: upper case, no spaces, dot after the 3rd character ("e1121" ->
    "E11.21"). Chapters ("4") and blocks ("E08-E13") keep their shape."""
    text = "".join(code.split()).upper()
    if "-" in text or text.isdigit():
        return text
    return dot(text.replace(".", ""))


def is_code(text: str) -> bool:
    return CODE.match(text) is not None
