"""Helpers for the LLM reasoner's tests: a coding service or graph whose reasoner talks to a
scripted OpenAI-compatible endpoint on loopback (real HTTP through the `openai` client)."""

from __future__ import annotations

from typing import Any

from evals.scripted_llm import ScriptedLlm


def llm_settings(llm: ScriptedLlm, data_dir: Any = None, **overrides: Any) -> Any:
    from core.settings import Settings

    values: dict[str, Any] = {
        "reasoner": "llm",
        "llm_base_url": llm.base_url,
        "llm_model": "scripted-model",
        "llm_timeout_s": 5.0,
        "llm_max_retries": 0,
        **overrides,
    }
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def llm_context(settings: Any, term_index: Any) -> Any:
    from agent.context import CodingContext, rules_version
    from agent.reasoners.llm import LlmReasoner

    return CodingContext(
        settings, term_index, LlmReasoner(settings, index=term_index), rules_version()
    )


def llm_service(llm: ScriptedLlm, data_dir: Any, term_index: Any, **overrides: Any) -> Any:
    from apps.service import Service

    settings = llm_settings(llm, data_dir, **overrides)
    return Service(settings, llm_context(settings, term_index))


def llm_coder(llm: ScriptedLlm, term_index: Any, **overrides: Any) -> Any:
    from agent.coder import Coder

    return Coder(llm_context(llm_settings(llm, **overrides), term_index))
