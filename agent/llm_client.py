"""Talking to an OpenAI-compatible endpoint: one bounded request, and a conversation in which the
model may call our tools before it answers in a structured form.

The `openai` package is imported on first use (it costs about 2 s), and its defaults are never
used: each request has our timeout and retries, capped by what is left of the chart's budget.
Whatever goes wrong is sorted into two failures the caller escalates: the endpoint did not answer
(`llm_unavailable`: timeout, connection refused, 4xx or 5xx) or it answered with nothing we can
use (`llm_invalid_output`: cut-off or malformed JSON, a refusal, an answer that does not fit the
schema, tool calls past the cap). Usage is measured per request: tokens, latency, request id.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent.usage import FailureReason, ModelRequest, ReasonerActivity
from core.settings import Settings
from tools.registry import Registry, ToolContext
from tools.untrusted import strip_hidden

log = logging.getLogger(__name__)

A = TypeVar("A", bound=BaseModel)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class ModelFailure(Exception):
    """The model's part of a chart failed; `reason` is the chart's escalation reason."""

    def __init__(self, reason: FailureReason, cause: str) -> None:
        super().__init__(f"{reason}: {cause}")
        self.reason: FailureReason = reason
        self.cause = cause


class ChatEndpoint:
    """One OpenAI-compatible chat endpoint, as the settings name it."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_base_url or not settings.llm_model:
            raise ValueError("an LLM endpoint needs llm_base_url and llm_model")
        self.base_url = settings.llm_base_url
        self.model = settings.llm_model
        # Read now, so a missing or placeholder key file stops start-up, not the first chart.
        self._key = settings.llm_key()
        self.timeout_s = settings.llm_timeout_s
        self.max_retries = settings.llm_max_retries
        self.temperature = settings.llm_temperature
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import openai

            # The client logs whole request bodies (chart text) at DEBUG: never let it.
            logging.getLogger("openai").setLevel(logging.WARNING)
            self._client = openai.OpenAI(
                base_url=self.base_url,
                # A local server without authentication still needs a non-empty header value.
                api_key=self._key or "no-key",
                timeout=self.timeout_s,
                max_retries=self.max_retries,
            )
        return self._client

    def complete(self, activity: ReasonerActivity, deadline: float, **request: Any) -> Any:
        """One chat completion's first choice; the request is recorded in `activity`."""
        import openai

        left = deadline - time.monotonic()
        if left <= 0:
            raise ModelFailure("llm_unavailable", "BudgetExhausted")
        client = self.client().with_options(timeout=min(self.timeout_s, left))
        if self.temperature is not None:
            request.setdefault("temperature", self.temperature)
        t0 = time.perf_counter()
        try:
            completion = client.chat.completions.create(model=self.model, **request)
        except (openai.APIConnectionError, openai.APIStatusError) as err:
            # Timeouts and refused connections are APIConnectionErrors; 4xx and 5xx statuses
            # APIStatusErrors (a 500 was already retried `max_retries` times by the client).
            raise self._failed(activity, t0, "llm_unavailable", err) from None
        except (json.JSONDecodeError, ValidationError, openai.APIResponseValidationError) as err:
            # A 200 whose body is cut off or is not a completion at all.
            raise self._failed(activity, t0, "llm_invalid_output", err) from None
        latency = int((time.perf_counter() - t0) * 1000)
        usage = getattr(completion, "usage", None)
        activity.requests.append(
            ModelRequest(
                model=self.model,
                request_id=_request_id(completion),
                prompt_tokens=getattr(usage, "prompt_tokens", None),
                completion_tokens=getattr(usage, "completion_tokens", None),
                latency_ms=latency,
            )
        )
        choices = getattr(completion, "choices", None) or []
        if not choices or getattr(choices[0], "message", None) is None:
            raise ModelFailure("llm_invalid_output", "NoChoice")
        choice = choices[0]
        if choice.finish_reason in ("length", "content_filter"):
            raise ModelFailure("llm_invalid_output", f"finish_{choice.finish_reason}")
        return choice.message

    def _failed(
        self, activity: ReasonerActivity, t0: float, reason: FailureReason, err: Exception
    ) -> ModelFailure:
        activity.requests.append(
            ModelRequest(
                model=self.model,
                latency_ms=int((time.perf_counter() - t0) * 1000),
                ok=False,
                error=type(err).__name__,
            )
        )
        log.warning("model request failed: %s", type(err).__name__)
        return ModelFailure(reason, type(err).__name__)


def _request_id(completion: Any) -> str | None:
    for candidate in (getattr(completion, "_request_id", None), getattr(completion, "id", None)):
        if isinstance(candidate, str) and _REQUEST_ID.match(candidate):
            return candidate
    return None


def response_format(model: type[BaseModel], name: str) -> dict[str, Any]:
    """A strict JSON-schema response format for `model` (its fields all required, no extras)."""
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": model.model_json_schema(), "strict": True},
    }


@dataclass
class Conversation:
    """A model, our tools for one chart, and a budget of tool calls and seconds."""

    endpoint: ChatEndpoint
    registry: Registry
    tools: ToolContext
    max_tool_calls: int
    budget_s: float
    # Wraps chart text a tool returns in the request's data-block delimiters.
    wrap_data: Any

    def answer(
        self, messages: list[dict[str, Any]], answer_model: type[A], activity: ReasonerActivity
    ) -> A:
        """Let the model call tools (up to the cap), then parse its structured answer."""
        deadline = time.monotonic() + self.budget_s
        fmt = response_format(answer_model, answer_model.__name__.lower())
        specs = self.registry.specs()
        calls = 0
        while True:
            spent = calls >= self.max_tool_calls
            request: dict[str, Any] = {"messages": messages, "response_format": fmt}
            if specs:
                request["tools"] = specs
                request["tool_choice"] = "none" if spent else "auto"
            request["messages"] = clean_messages(messages)
            message = self.endpoint.complete(activity, deadline, **request)
            tool_calls = getattr(message, "tool_calls", None) or []
            if tool_calls:
                if spent:
                    raise ModelFailure("llm_invalid_output", "ToolCallsPastCap")
                messages = [*messages, _assistant_turn(message)]
                for call in tool_calls:
                    calls += 1
                    messages.append(self._run_tool(call, activity, calls))
                continue
            if getattr(message, "refusal", None):
                raise ModelFailure("llm_invalid_output", "Refusal")
            content = getattr(message, "content", None)
            if not content:
                raise ModelFailure("llm_invalid_output", "EmptyAnswer")
            try:
                return answer_model.model_validate_json(content)
            except ValidationError:
                raise ModelFailure("llm_invalid_output", "ValidationError") from None

    def _run_tool(self, call: Any, activity: ReasonerActivity, n: int) -> dict[str, Any]:
        function = getattr(call, "function", None)
        if n > self.max_tool_calls:
            output = json.dumps({"error": "tool call budget spent; answer now"})
        elif function is None:
            output = json.dumps({"error": "only function tools are available"})
        else:
            output, record = self.registry.call(
                self.tools, str(function.name), str(function.arguments or "")
            )
            activity.tool_calls.append(record)
        return {"role": "tool", "tool_call_id": call.id, "content": self.wrap_data(output)}


def _assistant_turn(message: Any) -> dict[str, Any]:
    """The model's tool-calling turn, replayed to it as plain data."""
    return {
        "role": "assistant",
        "content": message.content or None,
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": getattr(c.function, "name", ""),
                    "arguments": getattr(c.function, "arguments", "") or "",
                },
            }
            for c in message.tool_calls
        ],
    }


def clean_messages(value: Any) -> Any:
    """Every string of the request without hidden characters: a last net under the data block's
    own cleaning, for what a model wrote itself (its tool arguments are replayed to it)."""
    if isinstance(value, str):
        return strip_hidden(value)
    if isinstance(value, list):
        return [clean_messages(v) for v in value]
    if isinstance(value, dict):
        return {k: clean_messages(v) for k, v in value.items()}
    return value
