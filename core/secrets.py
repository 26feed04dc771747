"""What a real secret looks like: placeholders ("changeme", short values) are refused at start-up."""

from __future__ import annotations

MIN_SECRET_CHARS = 32
_PLACEHOLDER_WORDS = (
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "example",
    "secret",
    "password",
    "default",
    "your-key",
    "yourkey",
    "xxxx",
    "todo",
)


def placeholder_problem(secret: str) -> str | None:
    """Why a secret looks like a placeholder rather than a real key (None when it looks real)."""
    low = secret.strip().lower()
    if len(low) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    if any(word in low for word in _PLACEHOLDER_WORDS):
        return "looks like a placeholder"
    if len(set(low)) < 8:
        return "has too few distinct characters to be random"
    return None
