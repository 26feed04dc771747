"""What deciding PDF visibility on the rendered page costs (issue 12), against the same reader
without the rendering check, in one run: `python bench/bench_pdf_visibility.py [PDF ...]`.

In-process (the worker's functions, no child start-up), median of 5 reads each, interleaved.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "extract"))

import pdf_worker  # noqa: E402  (the child's script, loaded the way the child loads it)


def _without_rendering(page: object, page_text: pdf_worker._PageText) -> None:
    for line in page_text.lines:
        pdf_worker._settle_whitespace(line)


def main(paths: list[str]) -> None:
    pdf_worker._load_pymupdf()
    import numpy  # noqa: F401  (imported ahead in the child too)

    judge = pdf_worker._judge_by_rendering
    for path in paths or [str(ROOT / "examples" / "clinic_followup.pdf")]:
        data = Path(path).read_bytes()
        timings: dict[str, list[float]] = {"with rendering check": [], "attributes only": []}
        pages = 0
        for _ in range(5):
            for label, step in (
                ("with rendering check", judge),
                ("attributes only", _without_rendering),
            ):
                pdf_worker._judge_by_rendering = step
                started = time.perf_counter()
                pages = len(pdf_worker.read_pdf_bytes(data, ocr=False)["pages"])
                timings[label].append(time.perf_counter() - started)
        pdf_worker._judge_by_rendering = judge
        with_check, without = (statistics.median(t) for t in timings.values())
        print(
            f"{Path(path).name}: {pages} pages, {with_check * 1000:.0f} ms with the rendering "
            f"check, {without * 1000:.0f} ms without ({(with_check - without) / pages * 1000:.0f} "
            "ms a page)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
