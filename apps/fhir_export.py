"""A finished run's final codes as FHIR R4: a Bundle of Condition resources, principal first.

For an RCM or billing system that takes codes as FHIR instead of parsing our JSON. The final
codes are the reviewed ones when a person decided (rejected codes left out, added codes in),
else the suggestions. Each Condition carries:
- `code`: the ICD-10-CM code (system http://hl7.org/fhir/sid/icd-10-cm) with its title;
- `verificationStatus`: `confirmed` when a person reviewed the run, `provisional` when the codes
  went out on the `auto` route without one;
- `note`: the evidence in words ("quote" (section, document, characters));
- extensions (urn:codesense:fhir:...): the rank (1 = principal / first-listed), the run id, the
  confidence, and each evidence span as document id, start, end and quote.
`subject` is required by FHIR; we know no patient, so it names the chart by identifier.
"""

from __future__ import annotations

from typing import Any

from core.contract import Evidence, ReviewedChartResult

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
EXT = "urn:codesense:fhir"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def final_codes(
    result: ReviewedChartResult,
) -> list[tuple[str, str, list[Evidence], float | None, str]]:
    """(code, title, evidence, confidence, reason) in reporting order: principal first."""
    review = result.review
    rejected = set(review.rejected) if review else set()
    # A stable sort: the principal (first-listed) code first, the rest in their order.
    kept = sorted(
        (s for s in result.suggestions if s.code not in rejected),
        key=lambda s: s.role != "principal",
    )
    ordered: list[tuple[str, str, list[Evidence], float | None, str]] = [
        (s.code, s.description, s.evidence, s.confidence, "") for s in kept
    ]
    if review:
        ordered += [(a.code, a.description, a.evidence, None, a.reason) for a in review.added]
    return ordered


def condition_bundle(result: ReviewedChartResult) -> dict[str, Any]:
    """The run's final codes as a FHIR R4 Bundle (type collection) of Conditions."""
    reviewed = result.review is not None
    entries = []
    for rank, (code, title, evidence, confidence, reason) in enumerate(final_codes(result), 1):
        condition_id = f"{result.run_id}-{rank}"
        extensions: list[dict[str, Any]] = [
            {"url": f"{EXT}:rank", "valueInteger": rank},
            {"url": f"{EXT}:run-id", "valueString": result.run_id},
        ]
        if confidence is not None:
            extensions.append({"url": f"{EXT}:confidence", "valueDecimal": confidence})
        for e in evidence:
            extensions.append(
                {
                    "url": f"{EXT}:evidence",
                    "extension": [
                        {"url": "document", "valueString": e.doc_id},
                        {"url": "start", "valueInteger": e.start},
                        {"url": "end", "valueInteger": e.end},
                        {"url": "quote", "valueString": e.quote},
                        {"url": "section", "valueString": e.section},
                    ],
                }
            )
        notes = [
            {
                "text": f'Evidence: "{" ".join(e.quote.split())}" ({e.section.replace("_", " ")}, '
                f"document {e.doc_id}, characters {e.start}-{e.end}, page {e.page})"
            }
            for e in evidence
        ]
        if reason:
            notes.append({"text": f"Added by the reviewer: {reason}"})
        if not reviewed:
            notes.append(
                {"text": "Suggested by Code Sense on the auto route; no person reviewed it."}
            )
        condition = {
            "resourceType": "Condition",
            "id": condition_id,
            "extension": extensions,
            "clinicalStatus": {"coding": [{"system": _CLINICAL, "code": "active"}]},
            "verificationStatus": {
                "coding": [
                    {"system": _VERIFICATION, "code": "confirmed" if reviewed else "provisional"}
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": _CATEGORY,
                            "code": "encounter-diagnosis",
                            "display": "Encounter Diagnosis",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": ICD10CM, "code": code, "display": title}],
                "text": title,
            },
            "subject": {"identifier": {"system": f"{EXT}:chart", "value": result.chart_id}},
            "note": notes,
        }
        entries.append({"fullUrl": f"urn:uuid:{_uuid(condition_id)}", "resource": condition})
    return {
        "resourceType": "Bundle",
        "id": result.run_id,
        "type": "collection",
        "meta": {"tag": [{"system": f"{EXT}:code-set", "code": result.code_set}]},
        "entry": entries,
    }


def _uuid(name: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{EXT}:{name}"))
