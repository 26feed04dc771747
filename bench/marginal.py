"""Marginal charts per second of `codesense code --format json`: N CodiEsp dev charts against 25.

Start-up cancels out: both runs pay it, so (N - 25) / (time of N - time of 25) is the per-chart
rate. N charts are coded twice: in one process (`--workers 1`, the per-core rate) and with the
default workers (one per core, forked after a few charts). Each run gets a fresh data directory (its first chart sets up keys and the store) sharing
one cache directory, built by a two-chart run first. Prints wall and CPU figures and the load average:
on a shared machine compare the CPU figure, measured interleaved with the reference checkout.

    python bench/marginal.py [N]          # this checkout
    ROOT=/path/to/other/checkout python bench/marginal.py 250
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("ROOT", Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(ROOT))

from evals.datasets import NAMED_DATASETS, load_jsonl  # noqa: E402


def _run(
    files: list[str],
    data_dir: Path,
    env: dict[str, str],
    cache: Path | None = None,
    options: tuple[str, ...] = (),
) -> tuple[float, float]:
    """Wall and CPU seconds of one `codesense code --format json` over the files."""
    if cache is not None:
        data_dir.mkdir(parents=True)
        (data_dir / "cache").symlink_to(cache, target_is_directory=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "apps.cli", "code", "--format", "json"]
        + list(options)
        + files,
        env={**env, "CODESENSE_DATA_DIR": str(data_dir)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    records = load_jsonl(NAMED_DATASETS["codiesp-dev"], n)
    tmp = Path(tempfile.mkdtemp(prefix="codesense-marginal-"))
    (tmp / "charts").mkdir()
    for rec in records:
        (tmp / "charts" / f"{rec.id}.txt").write_text(rec.text, encoding="utf-8")
    files = sorted(str(p) for p in (tmp / "charts").iterdir())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    _run(files[:2], tmp / "warm", env)
    cache = tmp / "warm" / "cache"
    extra = len(files) - 25
    # One process (--workers 1), then the default: after a few charts, `code`
    # forks one worker per core for the rest.
    for label, options in (("1 process", ("--workers", "1")), ("default workers", ())):
        name = label.replace(" ", "-")
        small_wall, small_cpu = _run(files[:25], tmp / f"small-{name}", env, cache, options)
        all_wall, all_cpu = _run(files, tmp / name, env, cache, options)
        wall_rate = extra / (all_wall - small_wall) if all_wall > small_wall else float("nan")
        cpu_rate = extra / (all_cpu - small_cpu) if all_cpu > small_cpu else float("nan")
        print(
            f"{label}: 25 charts: {small_wall:.1f} s wall, {small_cpu:.1f} s CPU; {len(files)} "
            f"charts: {all_wall:.1f} s wall, {all_cpu:.1f} s CPU; marginal {wall_rate:.1f} "
            f"charts/s wall, {cpu_rate:.1f} per CPU-second; load {os.getloadavg()[0]:.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
