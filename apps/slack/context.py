"""How a listener finds the shared runtime: a global middleware puts it in Bolt's context."""

from __future__ import annotations

from typing import Any

from apps.slack.runtime import SlackRuntime

KEY = "codesense"


def runtime_of(context: Any) -> SlackRuntime:
    runtime = context[KEY]
    assert isinstance(runtime, SlackRuntime)
    return runtime
