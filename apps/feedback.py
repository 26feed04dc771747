"""Education feedback: the corrections reviewers keep making, grouped by reviewer or by code
category, each with how often, the guideline rules behind it and example runs to learn from.

A rejected code is cited with the rules that were on the suggestion when it was rejected (what
the coder was told); an added code with the rules that name it (what a coder should know to
code it). Audit Sentinel findings join them, by kind, when audits have been run. Only codes,
counts, rule ids with their citations and run ids: no chart text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

FeedbackBy = Literal["reviewer", "category"]
EXAMPLES = 5


class FeedbackItem(BaseModel):
    kind: str = Field(description="rejected, added, or finding:<kind> from Audit Sentinel")
    code: str
    description: str = ""
    count: int
    recurring: bool = Field(description="seen at least twice")
    citations: list[str] = Field(default_factory=list, description="rule id: citation")
    example_runs: list[str] = Field(default_factory=list)


class FeedbackGroup(BaseModel):
    key: str = Field(description="the reviewer, or the 3-character code category")
    total: int
    items: list[FeedbackItem]


class Feedback(BaseModel):
    org: str
    by: FeedbackBy
    start: str | None = None
    end: str | None = None
    groups: list[FeedbackGroup]


@dataclass
class Correction:
    """One code one reviewer changed on one run (or one Sentinel finding on one audit run)."""

    kind: str
    code: str
    reviewer: str
    run_id: str
    rule_ids: list[str] = field(default_factory=list)


@dataclass
class _Tally:
    count: int = 0
    runs: list[str] = field(default_factory=list)
    rules: dict[str, None] = field(default_factory=dict)


def group_corrections(
    org: str,
    corrections: Iterable[Correction],
    by: FeedbackBy,
    describe: Callable[[str], str],
    cite: Callable[[str], str | None],
    start: str | None = None,
    end: str | None = None,
) -> Feedback:
    """Corrections counted per (group, kind, code), most frequent first."""
    tallies: dict[str, dict[tuple[str, str], _Tally]] = defaultdict(dict)
    for c in corrections:
        key = c.reviewer if by == "reviewer" else c.code.replace(".", "")[:3]
        tally = tallies[key].setdefault((c.kind, c.code), _Tally())
        tally.count += 1
        if c.run_id not in tally.runs:
            tally.runs.append(c.run_id)
        tally.rules.update(dict.fromkeys(c.rule_ids))
    groups = []
    for key, items in tallies.items():
        rows = [
            FeedbackItem(
                kind=kind,
                code=code,
                description=describe(code),
                count=t.count,
                recurring=t.count >= 2,
                citations=[f"{rule}: {citation}" for rule in t.rules if (citation := cite(rule))],
                example_runs=t.runs[:EXAMPLES],
            )
            for (kind, code), t in items.items()
        ]
        rows.sort(key=lambda r: (-r.count, r.kind, r.code))
        groups.append(FeedbackGroup(key=key, total=sum(r.count for r in rows), items=rows))
    groups.sort(key=lambda g: (-g.total, g.key))
    return Feedback(org=org, by=by, start=start, end=end, groups=groups)
