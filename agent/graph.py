"""The coding graph: extract -> concepts -> candidates -> decide -> validate -> evidence -> route,
then, for charts routed `review` or `escalate`, request_review -> await_review (a pause for a person).

This module only wires nodes. `build_graph()` returns the uncompiled builder so tests, evals and
the review flow compile it with their own checkpointer; `human_review=False` leaves the review
steps out, for callers that compile without a checkpointer. Every node is wrapped by
`agent.audit.audited`, which records it when the run is audited and otherwise only calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph

from agent import nodes, review
from agent.audit import audited
from agent.context import CodingContext
from agent.state import CodingInput, CodingState


def build_graph(human_review: bool = True) -> StateGraph[Any, Any, Any, Any]:
    graph = StateGraph(CodingState, context_schema=CodingContext, input_schema=CodingInput)

    def add(name: str, node: Callable[..., dict[str, Any]]) -> None:
        graph.add_node(name, audited(name, node))

    add("extract_document", nodes.extract_document)
    add("find_concepts", nodes.find_concepts)
    add("gather_candidates", nodes.gather_candidates)
    add("decide_codes", nodes.decide_codes)
    add("validate_decisions", nodes.validate_decisions)
    add("check_evidence", nodes.check_evidence)
    add("score_and_route", nodes.score_and_route)

    graph.add_edge(START, "extract_document")
    graph.add_conditional_edges(
        "extract_document", nodes.route_after_extract, ["find_concepts", "score_and_route"]
    )
    graph.add_edge("find_concepts", "gather_candidates")
    graph.add_edge("gather_candidates", "decide_codes")
    graph.add_edge("decide_codes", "validate_decisions")
    graph.add_edge("validate_decisions", "check_evidence")
    graph.add_edge("check_evidence", "score_and_route")
    if not human_review:
        graph.add_edge("score_and_route", END)
        return graph
    add("request_review", review.request_review)
    add("await_review", review.await_review)
    graph.add_conditional_edges(
        "score_and_route", review.route_after_scoring, ["request_review", END]
    )
    graph.add_edge("request_review", "await_review")
    graph.add_edge("await_review", END)
    return graph
