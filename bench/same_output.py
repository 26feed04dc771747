"""Do two checkouts code the same charts the same? `codesense code --format json` outputs compared.

Codes the first N CodiEsp dev charts and the us-dev notes (each in its own setting) with
`--workers 1` and PYTHONHASHSEED=0 from each checkout, each with its own data directory (caches
built there on the first run), and compares the result lines with the run id and the audit block
(both differ by design) taken out. Prints how many charts differ per set; exit status 1 if any.
For speed work: a change that should not change a code must leave this at 0.

    python bench/same_output.py /path/to/base/checkout [N]
    HERE_CACHE=DATA/cache BASE_CACHE=DATA/cache python bench/same_output.py ...  # reuse built caches
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from evals.datasets import NAMED_DATASETS, load_jsonl  # noqa: E402
from evals.us_notes import load_us_notes  # noqa: E402

# Differ run to run by design: not part of what was coded.
VOLATILE = ("run_id", "audit")


def _write_charts(root: Path, n: int) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    """Chart files per set: {set name: (files, extra options)}."""
    sets: dict[str, tuple[list[str], tuple[str, ...]]] = {}
    codiesp = root / "codiesp-dev"
    codiesp.mkdir(parents=True)
    files = []
    for rec in load_jsonl(NAMED_DATASETS["codiesp-dev"], n):
        path = codiesp / f"{rec.id}.txt"
        path.write_text(rec.text, encoding="utf-8")
        files.append(str(path))
    sets["codiesp-dev"] = (sorted(files), ())
    by_setting: dict[str, list[str]] = {}
    for note in load_us_notes():
        chart = note.chart()
        folder = root / f"us-dev-{note.setting}"
        folder.mkdir(exist_ok=True)
        path = folder / f"{chart.id}.txt"
        path.write_text(chart.text, encoding="utf-8")
        by_setting.setdefault(note.setting, []).append(str(path))
    for setting, paths in sorted(by_setting.items()):
        sets[f"us-dev-{setting}"] = (sorted(paths), ("--setting", setting))
    return sets


def _data_dir(path: Path, cache: str | None) -> Path:
    """A fresh data directory, sharing an already built cache directory when given one."""
    if cache and not path.exists():
        path.mkdir(parents=True)
        (path / "cache").symlink_to(Path(cache).resolve(), target_is_directory=True)
    return path


def _code(checkout: Path, data_dir: Path, files: list[str], options: tuple[str, ...]) -> list[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "HF_HUB_OFFLINE": "1",
        "PYTHONHASHSEED": "0",
        "CODESENSE_DATA_DIR": str(data_dir),
    }
    python = checkout / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "apps.cli", "code", "--format", "json", "--workers", "1"]
        + list(options)
        + files,
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = []
    for line in done.stdout.splitlines():
        row = json.loads(line)
        for key in VOLATILE:
            row.pop(key, None)
        lines.append(json.dumps(row, sort_keys=True))
    return lines


def main() -> int:
    base = Path(sys.argv[1]).resolve()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 250
    tmp = Path(tempfile.mkdtemp(prefix="codesense-same-"))
    sets = _write_charts(tmp / "charts", n)
    here_data = _data_dir(tmp / "data-here", os.environ.get("HERE_CACHE"))
    base_data = _data_dir(tmp / "data-base", os.environ.get("BASE_CACHE"))
    differ_total = 0
    for name, (files, options) in sets.items():
        ours = _code(HERE, here_data, files, options)
        theirs = _code(base, base_data, files, options)
        differ = sum(a != b for a, b in zip(ours, theirs, strict=False))
        differ += abs(len(ours) - len(theirs))
        differ_total += differ
        print(f"{name}: {len(files)} charts, {len(ours)} / {len(theirs)} results, {differ} differ")
    return 1 if differ_total else 0


if __name__ == "__main__":
    raise SystemExit(main())
