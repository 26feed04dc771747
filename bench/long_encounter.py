"""A long inpatient encounter built from realistic sections, for the long-chart bench and tests.

A whole stay as a coder receives it: an admission history and physical, a progress note for
every hospital day (subjective, objective with vitals and labs, assessment and plan with a
numbered problem list), consult notes, nursing flowsheet rows and a discharge summary. The
narrative sentences come from CodiEsp dev case reports (clinical prose, translated), the
problems from a list of common inpatient diagnoses; everything is chosen by a seeded generator,
so a size gives the same text on every machine.

    python bench/long_encounter.py --words 50000 > /tmp/encounter.txt
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROBLEMS = [
    "Acute on chronic systolic heart failure",
    "Chronic obstructive pulmonary disease with acute exacerbation",
    "Community acquired pneumonia of the right lower lobe",
    "Type 2 diabetes mellitus with hyperglycemia",
    "Chronic kidney disease stage 3a",
    "Essential hypertension",
    "Atrial fibrillation on apixaban",
    "Acute kidney injury, improving",
    "Hypokalemia, repleted",
    "Anemia of chronic disease",
    "Hyperlipidemia",
    "Gastroesophageal reflux disease",
    "Obstructive sleep apnea on CPAP",
    "Urinary tract infection due to E. coli",
    "Delirium, resolved",
    "Pressure injury of the sacrum, stage 2",
    "Hypothyroidism",
    "Major depressive disorder, single episode",
]
NEGATIVES = [
    "No evidence of pulmonary embolism on CT angiography.",
    "Denies chest pain, palpitations or syncope.",
    "No fever overnight.",
    "Blood cultures remain negative.",
    "No signs of gastrointestinal bleeding.",
]
CONSULTANTS = ["Cardiology", "Nephrology", "Infectious Diseases", "Pulmonology", "Endocrinology"]


def _sentences(limit: int = 400) -> list[str]:
    """Clinical prose sentences from CodiEsp dev (the project's copy in data/evals/)."""
    from evals.datasets import NAMED_DATASETS, load_jsonl

    found: list[str] = []
    for rec in load_jsonl(NAMED_DATASETS["codiesp-dev"], limit):
        for line in rec.text.splitlines():
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line.strip()):
                if 40 <= len(s) <= 300:
                    found.append(s)
    return found


def _vitals(rng: random.Random, day: int, hour: int) -> str:
    return (
        f"Day {day} {hour:02d}:00  T {rng.uniform(36.4, 38.4):.1f} C  HR {rng.randint(62, 118)}  "
        f"BP {rng.randint(100, 165)}/{rng.randint(55, 95)}  RR {rng.randint(14, 26)}  "
        f"SpO2 {rng.randint(88, 99)}% on {rng.choice(['room air', '2 L nasal cannula', '4 L'])}"
    )


def _labs(rng: random.Random) -> str:
    return (
        f"Na {rng.randint(131, 144)}, K {rng.uniform(3.1, 5.2):.1f}, creatinine "
        f"{rng.uniform(0.9, 2.4):.2f}, BUN {rng.randint(14, 48)}, glucose {rng.randint(90, 320)}, "
        f"WBC {rng.uniform(4.0, 16.5):.1f}, hemoglobin {rng.uniform(8.1, 13.9):.1f}."
    )


def build_encounter(words: int = 50_000, seed: int = 13, chars: int | None = None) -> str:
    """An inpatient stay of about `words` words (or at least `chars` characters)."""
    rng = random.Random(seed)
    prose = _sentences()
    problems = rng.sample(PROBLEMS, 8)
    parts: list[str] = []

    def narrative(n: int) -> str:
        return " ".join(rng.choice(prose) for _ in range(n))

    def size() -> int:
        return sum(len(p.split()) for p in parts) if chars is None else sum(map(len, parts))

    target = words if chars is None else chars
    parts.append(
        "HISTORY AND PHYSICAL\nPatient: Test Patient-Long   MRN: MRN-0000LONG1\n\n"
        f"CHIEF COMPLAINT: Shortness of breath.\n\nHISTORY OF PRESENT ILLNESS:\n{narrative(12)}\n\n"
        "PAST MEDICAL HISTORY:\n"
        + "\n".join(f"- {p}." for p in problems[3:])
        + "\n\nFAMILY HISTORY:\nMother with breast cancer. Father had coronary artery disease.\n\n"
        f"SOCIAL HISTORY:\nFormer smoker, 30 pack-years. No alcohol use.\n\n"
        f"PHYSICAL EXAM:\n{narrative(4)}\n\nASSESSMENT AND PLAN:\n"
        + "\n".join(f"{i}. {p}." for i, p in enumerate(problems[:5], 1))
        + "\n"
    )
    day = 1
    while size() < target:
        day += 1
        plan = "\n".join(
            f"{i}. {p}. {narrative(1)}" for i, p in enumerate(rng.sample(problems, 5), 1)
        )
        parts.append(
            f"\nPROGRESS NOTE - HOSPITAL DAY {day}\n\nSUBJECTIVE:\n{narrative(5)} "
            f"{rng.choice(NEGATIVES)}\n\nOBJECTIVE:\n"
            + "\n".join(_vitals(rng, day, h) for h in (0, 4, 8, 12, 16, 20))
            + f"\nLabs: {_labs(rng)}\n{narrative(2)}\n\nASSESSMENT AND PLAN:\n{plan}\n"
        )
        if day % 3 == 0:
            parts.append(
                f"\nCONSULT NOTE - {rng.choice(CONSULTANTS).upper()}\n\nHISTORY OF PRESENT "
                f"ILLNESS:\n{narrative(6)}\n\nIMPRESSION:\n{narrative(2)}\n"
            )
        parts.append(
            "\nNURSING FLOWSHEET\n"
            + "\n".join(_vitals(rng, day, h) for h in range(0, 24, 2))
            + "\n"
        )
    parts.append(
        "\nDISCHARGE SUMMARY\n\nDISCHARGE DIAGNOSES:\n"
        + "\n".join(f"{i}. {p}." for i, p in enumerate(problems, 1))
        + f"\n\nHOSPITAL COURSE:\n{narrative(10)}\n\nDISCHARGE INSTRUCTIONS:\n"
        "Daily weights. Return if worsening shortness of breath.\n"
    )
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=50_000)
    parser.add_argument("--chars", type=int, default=None)
    args = parser.parse_args()
    sys.stdout.write(build_encounter(args.words, chars=args.chars))
    return 0


if __name__ == "__main__":
    sys.exit(main())
