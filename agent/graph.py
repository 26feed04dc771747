"""The coding graph: extract -> concepts -> candidates -> decide -> validate -> evidence -> route.

This module only wires nodes. `build_graph()` returns the uncompiled builder so tests, evals and
the review flow compile it with their own checkpointer.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent import nodes
from agent.context import CodingContext
from agent.state import CodingInput, CodingState


def build_graph() -> StateGraph[Any, Any, Any, Any]:
    graph = StateGraph(CodingState, context_schema=CodingContext, input_schema=CodingInput)
    graph.add_node("extract_document", nodes.extract_document)
    graph.add_node("find_concepts", nodes.find_concepts)
    graph.add_node("gather_candidates", nodes.gather_candidates)
    graph.add_node("decide_codes", nodes.decide_codes)
    graph.add_node("validate_decisions", nodes.validate_decisions)
    graph.add_node("check_evidence", nodes.check_evidence)
    graph.add_node("score_and_route", nodes.score_and_route)

    graph.add_edge(START, "extract_document")
    graph.add_conditional_edges(
        "extract_document", nodes.route_after_extract, ["find_concepts", "score_and_route"]
    )
    graph.add_edge("find_concepts", "gather_candidates")
    graph.add_edge("gather_candidates", "decide_codes")
    graph.add_edge("decide_codes", "validate_decisions")
    graph.add_edge("validate_decisions", "check_evidence")
    graph.add_edge("check_evidence", "score_and_route")
    graph.add_edge("score_and_route", END)
    return graph
