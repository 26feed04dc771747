"""What the leaders' figures cost on a store with history (`make bench-metrics`).

Codes N charts through the facade (the sample notes in turn), reviews the ones routed to review
or escalation (accepting the first code, rejecting the second), posts claim outcomes for every
run (submitted, then paid or denied with a reason), then times the figures (`Service.metrics`,
day and week groups), the education feedback and, as the reference measured in the same run, a
plain listing of the same runs (`Service.runs`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NOTES = ["clinic_progress_note.txt", "ed_note.txt", "radiology_report.txt"]


def timed(call, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from agent.review import ReviewRequest
    from apps.actors import Actor
    from apps.service import Service
    from core.settings import Settings
    from store.outcomes import OutcomeRequest

    texts = [(ROOT / "examples" / name).read_text(encoding="utf-8") for name in NOTES]
    with tempfile.TemporaryDirectory(prefix="codesense-bench-metrics-") as folder:
        data_dir = Path(folder)
        cache = ROOT / ".codesense" / "cache"
        if cache.is_dir():
            (data_dir / "cache").symlink_to(cache, target_is_directory=True)
        service = Service(Settings(data_dir=data_dir))
        coder = Actor(id="coder.bench", role="coder")
        lead = Actor(id="lead.bench", role="admin")
        billing = Actor(id="billing.bench", role="integration")
        started = time.perf_counter()
        reviewed = 0
        for n in range(args.charts):
            result = service.code_text(coder, texts[n % len(texts)])
            codes = [s.code for s in result.suggestions]
            if result.route != "auto" and codes:
                service.review(
                    Actor(id=f"reviewer.{n % 4}", role="coder"),
                    result.run_id,
                    ReviewRequest(accept=codes[:1], reject=codes[1:2]),
                )
                reviewed += 1
            service.record_outcome(billing, result.run_id, OutcomeRequest(status="submitted"))
            last = (
                OutcomeRequest(status="denied", reasons=["CO-16"])
                if n % 7 == 0
                else OutcomeRequest(status="paid")
            )
            service.record_outcome(billing, result.run_id, last)
        built = time.perf_counter() - started
        print(
            f"history: {args.charts} charts, {reviewed} reviews, {2 * args.charts} outcomes "
            f"in {built:.0f} s"
        )

        rows = [
            ("runs listing (reference)", lambda: service.runs(lead, limit=args.charts)),
            ("metrics by day", lambda: service.metrics(lead)),
            ("metrics by week", lambda: service.metrics(lead, group="week")),
            ("feedback by category", lambda: service.feedback(lead)),
            ("feedback by reviewer", lambda: service.feedback(lead, by="reviewer")),
        ]
        print(f"{'call':<28}{'median ms':>10}{'max ms':>10}")
        for name, call in rows:
            times = timed(call, args.rounds)
            print(f"{name:<28}{statistics.median(times):>10.1f}{max(times):>10.1f}")
        figures = service.metrics(lead)
        print(
            f"check: charts_coded {figures.overall.charts_coded}, "
            f"denial_rate {figures.overall.denial_rate}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
