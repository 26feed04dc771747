"""Audit: no suggested code may rest on a negated, family, hypothetical or (outpatient) uncertain
mention. Codes the sample charts, the guideline test notes and CodiEsp dev in guidelines mode
(the suggested codes) and counts the violations, with what the rule packs did along the way.

    .venv/bin/python bench/assertion_audit.py             # examples, notes, CodiEsp dev
    .venv/bin/python bench/assertion_audit.py --limit 50  # first 50 CodiEsp charts
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CODESENSE_DATA_DIR", str(ROOT / ".codesense"))

from evals.datasets import NAMED_DATASETS, open_lines  # noqa: E402

DEFAULT_DATA = NAMED_DATASETS["codiesp-dev"]
EXAMPLES = [
    ("clinic_progress_note.txt", "outpatient"),
    ("ed_note.txt", "outpatient"),
    ("radiology_report.txt", "outpatient"),
    ("discharge_summary.txt", "inpatient"),
    ("clinic_followup.pdf", "outpatient"),
]


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.charts = 0
        self.codes = 0
        self.violations: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.rules: Counter[str] = Counter()
        self.queries = 0

    def add(self, result) -> None:
        from agent.guidelines.invariants import non_asserted_support

        self.charts += 1
        self.codes += len(result.suggestions)
        for v in non_asserted_support(result):
            self.violations[v.assertion] += 1
        for m in result.mentions:
            if m.assertion != "present":
                self.rejected[m.assertion] += 1
        for s in result.suggestions:
            for r in s.rules:
                if "." in r.id and not r.id.startswith(
                    ("code.", "mce.", "msdrg.", "hcc.", "manifestation.")
                ):
                    self.rules[r.id.split(".")[0]] += 1
        self.queries += len(result.queries)

    def line(self) -> str:
        total = sum(self.violations.values())
        return (
            f"| {self.name} | {self.charts} | {self.codes} | {sum(self.rejected.values())} | "
            f"{total} | {self.queries} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--setting", choices=["outpatient", "inpatient"], default="outpatient")
    args = parser.parse_args()

    import yaml

    from agent.coder import Coder
    from tools.chart import Chart
    from tools.extract import ExtractInput, extract_chart, text_document

    def extract_file(path: Path) -> Chart:
        return extract_chart(ExtractInput(chart_id=path.stem, sources=[str(path)]))

    coder = Coder()
    tallies = []

    examples = Tally("examples/")
    for name, setting in EXAMPLES:
        examples.add(coder.code(extract_file(ROOT / "examples" / name), setting))
    tallies.append(examples)

    notes = Tally("tests/guidelines/notes.yaml")
    cases = yaml.safe_load((ROOT / "tests/guidelines/notes.yaml").read_text())["notes"]
    for case in cases:
        chart = Chart(chart_id="note", documents=[text_document(case["note"], "d1")])
        notes.add(coder.code(chart, case.get("setting", "outpatient")))
    tallies.append(notes)

    if args.data.is_file():
        codiesp = Tally(f"CodiEsp dev ({args.setting})")
        started = time.perf_counter()
        with open_lines(args.data) as f:
            for n, line in enumerate(f):
                if args.limit is not None and n >= args.limit:
                    break
                record = json.loads(line)
                chart = Chart(
                    chart_id=record["id"], documents=[text_document(record["text"], "d1")]
                )
                codiesp.add(coder.code(chart, args.setting))
        elapsed = time.perf_counter() - started
        tallies.append(codiesp)
        print(f"CodiEsp dev: {codiesp.charts} charts in {elapsed:.0f} s", file=sys.stderr)

    print("| set | charts | codes suggested | non-present mentions | violations | CDI queries |")
    print("|---|---|---|---|---|---|")
    for t in tallies:
        print(t.line())
    for t in tallies:
        print(
            f"\n{t.name}: non-present mentions {dict(t.rejected)}; violations {dict(t.violations)}"
        )
        print(f"  guideline rules applied, by family: {dict(t.rules.most_common())}")
    return 1 if any(sum(t.violations.values()) for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
