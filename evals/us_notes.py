"""The US development set (data/evals/us-notes-dev/): load it, code it, score it like a coder.

Each note carries its setting, its gold codes in reporting order (the first is the principal or
first-listed diagnosis), `must_not` codes a certified coder would never assign, `optional` codes
where coders differ (neither right nor wrong: left out of both false positives and false
negatives) and the traps it exercises. Unlike CodiEsp, codes are compared character for
character (undotted): the 7th character says the encounter, and a follow-up coded as an initial
encounter is wrong here.

Figures: micro P/R/F1; the share of suggested codes that are `must_not`; first-listed accuracy
(gold[0] against our first suggestion); recall per trap kind (gold codes of the notes that name
the trap); suggestions that are not billable codes; and all of it by part (A primary care,
B ED and urgent care, C inpatient, D radiology and specialty).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
from pydantic import BaseModel, Field

from core.codes import undot
from core.errors import ChartInputError
from evals.datasets import US_NOTE_SETS, US_NOTES_DIR, LabelledChart, open_lines
from evals.metrics import Scores, micro
from evals.runner import ChartRecord, run_eval

PARTS = {
    "A": "primary care",
    "B": "ED and urgent care",
    "C": "inpatient",
    "D": "radiology and specialty",
    "R": "radiology reports",
}
US_DATASET = "us-dev"


class USNote(BaseModel):
    id: str
    part: str
    setting: str
    note_type: str = ""
    text: str
    gold: list[str] = Field(min_length=1)  # undotted, reporting order
    must_not: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)
    traps: list[str] = Field(default_factory=list)

    def chart(self) -> LabelledChart:
        return LabelledChart(id=self.id, text=self.text, codes=self.gold)


def load_us_notes(folder: Path = US_NOTES_DIR, parts: str | None = None) -> list[USNote]:
    """Every note of the named parts (by default every part the folder holds), in file order."""
    if parts is None:
        parts = "".join(p for p in PARTS if (folder / f"part-{p}.jsonl.gz").is_file())
        if not parts:
            raise ChartInputError(f"{folder.name}: no US notes files (part-A.jsonl.gz ...)")
    notes: list[USNote] = []
    for part in parts:
        path = folder / f"part-{part}.jsonl.gz"
        if not path.is_file():
            raise ChartInputError(f"{path.name}: no such US notes file")
        with open_lines(path) as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                    notes.append(
                        USNote(
                            id=row["id"],
                            part=part,
                            setting=row["setting"],
                            note_type=row.get("note_type", ""),
                            text=row["text"],
                            gold=[undot(g["code"]) for g in row["gold"]],
                            must_not=[undot(m["code"]) for m in row.get("must_not") or []],
                            optional=[undot(o["code"]) for o in row.get("optional") or []],
                            traps=list(row.get("traps") or []),
                        )
                    )
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                    raise ChartInputError(
                        f"{path.name} line {n}: not a US note ({err.__class__.__name__})"
                    ) from None
    return notes


def code_us_notes(
    notes: list[USNote],
    out_dir: Path,
    data_dir: Path,
    workers: int | None = None,
    fresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
    semantic: bool = False,
    reasoner: str = "offline",
    dataset: str = US_DATASET,
) -> dict[str, ChartRecord]:
    """Code each note in its own setting (one resumable run folder per setting)."""
    records: dict[str, ChartRecord] = {}
    settings = sorted({n.setting for n in notes})
    done_before = 0
    for setting in settings:
        charts = [n.chart() for n in notes if n.setting == setting]

        def step(done: int, _total: int, base: int = done_before) -> None:
            if progress is not None:
                progress(base + done, len(notes))

        got, _info = run_eval(
            charts,
            out_dir / setting,
            dataset=f"{dataset}-{setting}",
            data_dir=data_dir,
            setting=setting,
            workers=workers,
            fresh=fresh,
            progress=step,
            semantic=semantic,
            reasoner=reasoner,
        )
        records.update({r.id: r for r in got})
        done_before += len(charts)
    return records


# -- scoring -----------------------------------------------------------------------------------


class Figures(BaseModel):
    notes: int
    scores: Scores
    suggested: int
    must_not: int
    must_not_share: float
    first_listed: float
    first_listed_right: int
    non_billable: int


class NoteResult(BaseModel):
    id: str
    part: str
    setting: str
    gold: list[str]
    suggested: list[str]
    missed: list[str]
    wrong: list[str]
    must_not: list[str]
    first_right: bool
    non_billable: list[str]
    error: str | None = None


class TrapRecall(BaseModel):
    trap: str
    notes: int
    gold: int
    found: int
    recall: float
    must_not_suggested: int


class USSummary(BaseModel):
    dataset: str = US_DATASET
    mode: str = "guidelines"
    overall: Figures
    parts: dict[str, Figures]
    traps: list[TrapRecall]
    top_missed: list[tuple[str, int]]
    top_wrong: list[tuple[str, int]]
    must_not_codes: list[tuple[str, int]]
    notes: list[NoteResult]


def _ordered_suggestions(record: ChartRecord) -> list[str]:
    return list(dict.fromkeys(undot(s.code) for s in record.suggestions))


def score_note(note: USNote, record: ChartRecord | None) -> NoteResult:
    from tools.codeset import CodeSet

    codes = CodeSet.load()
    suggested = _ordered_suggestions(record) if record is not None else []
    optional = set(note.optional)
    pred = [c for c in suggested if c not in optional]
    gold = [c for c in note.gold if c not in optional]
    return NoteResult(
        id=note.id,
        part=note.part,
        setting=note.setting,
        gold=note.gold,
        suggested=suggested,
        missed=[c for c in gold if c not in pred],
        wrong=[c for c in pred if c not in gold],
        must_not=[c for c in suggested if c in set(note.must_not)],
        first_right=bool(suggested) and suggested[0] == note.gold[0],
        non_billable=[c for c in suggested if not (codes.exists(c) and codes.is_billable(c))],
        error=record.error if record is not None else "not coded",
    )


def _figures(notes: list[USNote], results: list[NoteResult]) -> Figures:
    pairs = []
    for note, res in zip(notes, results, strict=True):
        optional = set(note.optional)
        pairs.append(({c for c in res.suggested if c not in optional}, set(note.gold) - optional))
    suggested = sum(len(r.suggested) for r in results)
    bad = sum(len(r.must_not) for r in results)
    first = sum(r.first_right for r in results)
    return Figures(
        notes=len(results),
        scores=micro(pairs),
        suggested=suggested,
        must_not=bad,
        must_not_share=round(bad / suggested, 4) if suggested else 0.0,
        first_listed=round(first / len(results), 4) if results else 0.0,
        first_listed_right=first,
        non_billable=sum(len(r.non_billable) for r in results),
    )


def summarise_us(
    notes: list[USNote], records: dict[str, ChartRecord], dataset: str = US_DATASET
) -> USSummary:
    results = [score_note(n, records.get(n.id)) for n in notes]
    parts = {
        p: _figures([n for n in notes if n.part == p], [r for r in results if r.part == p])
        for p in PARTS
        if any(n.part == p for n in notes)
    }
    traps: list[TrapRecall] = []
    for trap in sorted({t for n in notes for t in n.traps}):
        sel = [(n, r) for n, r in zip(notes, results, strict=True) if trap in n.traps]
        gold = sum(len(set(n.gold) - set(n.optional)) for n, _ in sel)
        missed = sum(len(r.missed) for _, r in sel)
        traps.append(
            TrapRecall(
                trap=trap,
                notes=len(sel),
                gold=gold,
                found=gold - missed,
                recall=round((gold - missed) / gold, 4) if gold else 0.0,
                must_not_suggested=sum(len(r.must_not) for _, r in sel),
            )
        )
    return USSummary(
        dataset=dataset,
        overall=_figures(notes, results),
        parts=parts,
        traps=traps,
        top_missed=Counter(c for r in results for c in r.missed).most_common(20),
        top_wrong=Counter(c for r in results for c in r.wrong).most_common(20),
        must_not_codes=Counter(c for r in results for c in r.must_not).most_common(20),
        notes=results,
    )


# -- report ------------------------------------------------------------------------------------


def write_us_report(summary: USSummary, out_dir: Path, command: str = "") -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_bytes(
        orjson.dumps(summary.model_dump(), option=orjson.OPT_INDENT_2)
    )
    path = out_dir / "report.md"
    path.write_text(render_us_markdown(summary, command), encoding="utf-8")
    return path


def _row(name: str, f: Figures) -> str:
    s = f.scores
    return (
        f"| {name} | {f.notes} | {s.precision:.3f} | {s.recall:.3f} | **{s.f1:.3f}** | "
        f"{f.must_not_share:.1%} ({f.must_not} of {f.suggested}) | {f.first_listed:.0%} | "
        f"{f.non_billable} |"
    )


def render_us_markdown(s: USSummary, command: str = "") -> str:
    lines = [
        f"# Eval report: US notes, {s.dataset} (guidelines mode)",
        "",
        f"{s.overall.notes} notes, each coded in its own setting; the suggested (billed) codes are "
        "scored character for character against gold, `optional` codes neither right nor wrong.",
    ]
    if command:
        lines += ["", "Reproduce:", "", "```sh", command, "```"]
    lines += [
        "",
        "## Accuracy",
        "",
        "must_not: suggested codes a certified coder would never assign, as a share of all "
        "suggestions. First-listed: our first code is gold's first (principal or first-listed). "
        "Non-billable: suggestions that are categories or lack characters.",
        "",
        "| part | notes | micro P | micro R | micro F1 | must_not | first-listed | non-billable |",
        "|---|---|---|---|---|---|---|---|",
        _row("all", s.overall),
    ]
    lines += [_row(f"{p} {PARTS[p]}", f) for p, f in s.parts.items()]
    lines += [
        "",
        "## Recall by trap kind",
        "",
        "| trap | notes | gold codes | found | recall | must_not suggested |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {t.trap} | {t.notes} | {t.gold} | {t.found} | {t.recall:.3f} | {t.must_not_suggested} |"
        for t in s.traps
    ]
    lines += ["", "## Most missed, most wrong, must_not suggested", ""]
    lines.append("missed: " + ", ".join(f"{c} ({n})" for c, n in s.top_missed) or "none")
    lines.append("")
    lines.append("wrong: " + ", ".join(f"{c} ({n})" for c, n in s.top_wrong) or "none")
    lines.append("")
    lines.append("must_not: " + (", ".join(f"{c} ({n})" for c, n in s.must_not_codes) or "none"))
    lines += [
        "",
        "## Per note",
        "",
        "| note | first right | missed | wrong | must_not | non-billable |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.id} | {'yes' if r.first_right else 'no'} | {' '.join(r.missed)} | "
        f"{' '.join(r.wrong)} | {' '.join(r.must_not)} | {' '.join(r.non_billable)} |"
        for r in s.notes
    ]
    return "\n".join(lines) + "\n"


def evaluate_us(
    out_dir: Path,
    data_dir: Path,
    report_dir: Path | None = None,
    workers: int | None = None,
    fresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
    semantic: bool = False,
    reasoner: str = "offline",
    command: str = "",
    dataset: str = US_DATASET,
) -> USSummary:
    notes = load_us_notes(US_NOTE_SETS[dataset])
    records = code_us_notes(
        notes, out_dir, data_dir, workers, fresh, progress, semantic, reasoner, dataset
    )
    summary = summarise_us(notes, records, dataset)
    write_us_report(summary, report_dir or out_dir, command=command)
    return summary
