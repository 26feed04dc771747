"""Draws a run's evidence onto its original PDF, in a throwaway child process, with a legend page.

Like `pdf_worker`, MuPDF only ever runs here, never in the parent (a server thread): the parent
starts this file as a script (`python -I pdf_annotate.py --memory-mb N`), sends one JSON object
on stdin and reads one JSON object from stdout:

    in:  {"documents": [{"pdf": "<base64>", "marks": [{"page": 1, "bbox": [x0, y0, x1, y1],
          "label": "E11.22", "color": [r, g, b]}]}],
          "legend": [{"label": "E11.22", "text": "Type 2 diabetes ...", "color": [r, g, b]}],
          "title": "Evidence for run-..."}
    out: {"ok": true, "pdf": "<base64>"} | {"ok": false, "kind": "...", "reason": "..."}

Every evidence box becomes a highlight annotation whose note names the code, so a reviewer's
PDF viewer lists them; the legend page at the end names each code, its description and colour.
Several documents are joined in order. The script imports nothing from the project.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import sys
from typing import Any


def _limit_resources(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A crash must not leave a core file of chart content behind.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _load_pymupdf() -> Any:
    """pymupdf without the layout and LLM add-ons PyMuPDF 2.0 imports when they are installed
    (see pdf_worker: 0.6 s and ~400 MB of address space this script never uses)."""
    if "pymupdf" not in sys.modules:
        for optional in ("pymupdf.layout", "pymupdf4llm"):
            sys.modules.setdefault(optional, None)  # type: ignore[arg-type]
    import pymupdf

    return pymupdf


def annotate(request: dict[str, Any]) -> bytes:
    pymupdf = _load_pymupdf()
    out = pymupdf.open()
    for document in request.get("documents", []):
        doc = pymupdf.open(stream=base64.b64decode(document["pdf"]), filetype="pdf")
        if doc.needs_pass:
            raise PermissionError("encrypted")
        for mark in document.get("marks", []):
            number = int(mark["page"]) - 1
            if not 0 <= number < doc.page_count:
                continue
            page = doc[number]
            rect = pymupdf.Rect(*mark["bbox"])
            if rect.is_empty or rect.is_infinite:
                continue
            # The exact words inside the line's box, when the page can find them there.
            line = pymupdf.Rect(rect.x0 - 400, rect.y0 - 2, rect.x1 + 400, rect.y1 + 2)
            found = page.search_for(mark["text"], clip=line, quads=True) if mark.get("text") else []
            if found:
                # The occurrence nearest the estimated box (a word can recur on one line).
                centre = (rect.x0 + rect.x1) / 2
                best = min(found, key=lambda q: abs((q.rect.x0 + q.rect.x1) / 2 - centre))
                annot = page.add_highlight_annot(best)
            else:
                annot = page.add_highlight_annot(rect)
            annot.set_colors(stroke=tuple(mark.get("color") or (1, 0.85, 0.3)))
            annot.set_info(title="Code Sense", content=str(mark.get("label", ""))[:200])
            annot.update()
        out.insert_pdf(doc)
        doc.close()
    _legend(out, request)
    data: bytes = out.tobytes(garbage=3, deflate=True)
    return data


def _legend(out: Any, request: dict[str, Any]) -> None:
    pymupdf = _load_pymupdf()
    page = out.new_page(width=612, height=792)
    y = 60.0
    page.insert_text((50, y), str(request.get("title", "Evidence"))[:90], fontsize=14)
    y += 24
    page.insert_text((50, y), "Highlights mark the chart text each code rests on.", fontsize=9)
    y += 22
    for entry in request.get("legend", [])[:60]:
        if y > 750:
            page = out.new_page(width=612, height=792)
            y = 60.0
        color = tuple(entry.get("color") or (1, 0.85, 0.3))
        page.draw_rect(pymupdf.Rect(50, y - 9, 62, y + 2), color=color, fill=color)
        text = f"{entry.get('label', '')}  {entry.get('text', '')}"
        page.insert_text((70, y), text[:100], fontsize=10)
        y += 16


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, default=1024)
    args = parser.parse_args()
    # Keep the real stdout for the result; anything a library prints goes to stderr instead.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        _limit_resources(args.memory_mb)
        request = json.loads(sys.stdin.buffer.read())
        pdf = annotate(request)
    except PermissionError:
        reply = {"ok": False, "kind": "encrypted", "reason": "the PDF is encrypted"}
    except MemoryError:
        reply = {"ok": False, "kind": "memory", "reason": "out of memory"}
    except Exception as err:  # a hostile file: reported, never a traceback on stdout
        reply = {"ok": False, "kind": "internal", "reason": type(err).__name__}
    else:
        reply = {"ok": True, "pdf": base64.b64encode(pdf).decode()}
    with os.fdopen(result_fd, "w", encoding="utf-8") as out:
        json.dump(reply, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
