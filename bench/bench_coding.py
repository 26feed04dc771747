"""Benchmark: code the CodiEsp dev set and print speed, memory and a first accuracy.

Prints, in one run: charts per second and p50/p95 latency per chart (warm, through the service,
stored and audited), peak memory; cold start of `codesense code` to its first code (caches
built); the marginal charts per second of `codesense code` (all charts against 25, so start-up
cancels); `codesense batch` throughput with 1 and 2 workers on the local pool and on dask; a
50,000-word inpatient encounter (bench/long_encounter.py) with its time and peak RSS; and micro-F1 in
"all mentions" mode (the union of every mention's codes, whatever its assertion, as CodiEsp
annotators coded negated and past mentions too). The reference measured in the same run is the
exact-match baseline from FIELD-NOTES: tabular titles and inclusion terms, Aho-Corasick over
lower-cased text, longest match wins, no negation.

    make bench                      # whole dev set
    .venv/bin/python bench/bench_coding.py --limit 50
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from evals.datasets import NAMED_DATASETS  # noqa: E402

DEFAULT_DATA = NAMED_DATASETS["codiesp-dev"]


def baseline_predictor():
    """The 40-line exact-match reference: longest title / inclusion term wins, no negation."""
    import ahocorasick

    from tools.codeset import CodeSet

    automaton = ahocorasick.Automaton()
    for code, text, _ in CodeSet.load().iter_terms():
        # "Hematuria, unspecified" and "Pneumonia NOS" are written "hematuria", "pneumonia".
        term = re.sub(r",?\s*(unspecified|nos)\b.*$", "", text.lower()).strip()
        if len(term) >= 4 and term not in automaton:
            automaton.add_word(term, (len(term), code))
    automaton.make_automaton()

    def predict(text: str) -> set[str]:
        low = text.lower()
        hits = []
        for end, (length, code) in automaton.iter(low):
            start = end - length + 1
            before = low[start - 1] if start > 0 else " "
            after = low[end + 1] if end + 1 < len(low) else " "
            if not before.isalnum() and not after.isalnum():
                hits.append((start, end, code))
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        out: set[str] = set()
        last_end = -1
        for start, end, code in hits:
            if start > last_end:
                out.add(code)
                last_end = end
        return out

    return predict


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, its stdout) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        print(done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"bench: {' '.join(cmd[:4])} failed ({done.returncode})")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def _fresh_data_dir(tmp: Path, name: str) -> Path:
    """A data directory with no runs, sharing the built code-set snapshot and term index."""
    folder = tmp / name
    folder.mkdir()
    (folder / "cache").symlink_to((ROOT / ".codesense" / "cache").resolve())
    return folder


def _cli_figures(records: list, tmp: Path) -> dict[str, float]:
    """Cold start, marginal charts/s of `codesense code`, batch throughput, the long encounter."""
    cli = [sys.executable, "-m", "apps.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    charts = tmp / "charts"
    charts.mkdir()
    for rec in records:
        (charts / f"{rec.id}.txt").write_text(rec.text, encoding="utf-8")
    files = sorted(str(p) for p in charts.iterdir())
    out: dict[str, float] = {}

    # Cold start: a new Python process each time, the caches built and the data directory
    # already set up (keys, store); its first run, which creates them, is not counted. The
    # median of three runs.
    env["CODESENSE_DATA_DIR"] = str(_fresh_data_dir(tmp, "cold"))
    note = [*cli, "code", str(ROOT / "examples" / "ed_note.txt")]
    _run(note, env)
    cold = sorted(_run(note, env)[:2] for _ in range(3))
    out["cold_wall"] = statistics.median(w for w, _ in cold)
    out["cold_cpu"] = statistics.median(c for _, c in cold)

    small = files[:25]
    extra = len(files) - len(small)
    # All charts in one process (--workers 1), then with the default (after a few charts, one
    # worker per core forked from the loaded process).
    for key, options in (("one", ["--workers", "1"]), ("", [])):
        env["CODESENSE_DATA_DIR"] = str(_fresh_data_dir(tmp, f"code25{key}"))
        t25, c25, _ = _run([*cli, "code", "--format", "json", *options, *small], env)
        env["CODESENSE_DATA_DIR"] = str(_fresh_data_dir(tmp, f"code_all{key}"))
        tall, call, _ = _run([*cli, "code", "--format", "json", *options, *files], env)
        # NaN when the machine's load made the longer run finish first: no figure, not a huge
        # one.
        out[f"marginal_wall{key}"] = extra / (tall - t25) if tall > t25 else float("nan")
        out[f"marginal_cpu{key}"] = extra / (call - c25) if call > c25 else float("nan")
    out["code_n"] = len(files)

    for engine in ("local", "dask"):
        for workers in (1, 2):
            env["CODESENSE_DATA_DIR"] = str(_fresh_data_dir(tmp, f"batch-{engine}-{workers}"))
            result = tmp / f"batch-{engine}-{workers}.jsonl"
            wall, cpu, _ = _run(
                [*cli, "batch", str(charts), "--out", str(result), "--engine", engine,
                 "--workers", str(workers)],
                env,
            )  # fmt: skip
            out[f"batch_{engine}_{workers}"] = len(files) / wall
            out[f"batch_{engine}_{workers}_cpu"] = len(files) / max(cpu, 1e-9)

    encounter = tmp / "encounter.txt"
    from bench.long_encounter import build_encounter

    encounter.write_text(build_encounter(50_000), encoding="utf-8")
    env["CODESENSE_DATA_DIR"] = str(_fresh_data_dir(tmp, "encounter"))
    _, _, text = _run([sys.executable, str(Path(__file__)), "--encounter", str(encounter)], env)
    got = orjson.loads(text.strip().splitlines()[-1])
    out.update({f"encounter_{k}": v for k, v in got.items()})
    return out


def _encounter(path: Path) -> int:
    """Child process: code one long encounter (inpatient) warm; print time and peak RSS."""
    from agent.coder import Coder
    from core.settings import Settings

    coder = Coder(settings=Settings())
    coder.code_text("Fever.", "inpatient")
    text = path.read_text(encoding="utf-8")
    t, c = time.perf_counter(), time.process_time()
    result = coder.code_text(text, "inpatient")
    print(
        orjson.dumps(
            {
                "words": len(text.split()),
                "chars": len(text),
                "wall": time.perf_counter() - t,
                "cpu": time.process_time() - c,
                "codes": len(result.suggestions),
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        ).decode()
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--encounter", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-cli", action="store_true", help="skip the command-line and batch figures"
    )
    args = parser.parse_args()
    if args.encounter is not None:
        return _encounter(args.encounter)
    if not args.data.is_file():
        print(
            f"bench: {args.data} not found (the project carries it in data/evals/)", file=sys.stderr
        )
        return 2
    from apps.actors import Actor
    from apps.service import Service
    from core.settings import Settings
    from evals.datasets import load_jsonl
    from evals.metrics import category, compare_key, micro, read_categories
    from tools.chart import Chart
    from tools.codeset import CodeSet
    from tools.extract import text_document
    from tools.lookup import TermIndex

    records = load_jsonl(args.data, args.limit)
    # The code-set snapshot and term index, built once into the shared cache if missing.
    cache = ROOT / ".codesense" / "cache"
    CodeSet.load(cache)
    TermIndex.load_or_build(cache)
    tmp = Path(tempfile.mkdtemp(prefix="codesense-bench-"))
    t0 = time.perf_counter()
    service = Service(Settings(data_dir=_fresh_data_dir(tmp, "warm")))
    actor = Actor(id="bench", role="admin")
    codeset = CodeSet.load()
    # Warm the NLP pipelines on one chart so latencies below are per-chart, not start-up.
    service.code_chart(actor, Chart(chart_id="warm", documents=[text_document("Fever.", "warm")]))
    startup = time.perf_counter() - t0

    latencies: list[float] = []
    predicted: list[set[str]] = []
    t_all, c_all = time.perf_counter(), time.process_time()
    for rec in records:
        t = time.perf_counter()
        chart = Chart(chart_id=rec.id, documents=[text_document(rec.text, rec.id)])
        result = service.code_chart(actor, chart)
        latencies.append(time.perf_counter() - t)
        predicted.append({compare_key(c) for m in result.mentions for c in m.codes})
    elapsed = time.perf_counter() - t_all
    cpu_per_chart = (time.process_time() - c_all) / max(len(records), 1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # An ordinary two-page note, warm: as text, and as a PDF (parsed in a child process).
    two_page = {}
    for name in ("clinic_progress_note.txt", "clinic_followup.pdf"):
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            service.code_file(actor, ROOT / "examples" / name)
            runs.append(time.perf_counter() - t)
        two_page[name] = statistics.median(runs) * 1000

    predict = baseline_predictor()
    t_base = time.perf_counter()
    base_pred = [{compare_key(c) for c in predict(rec.text)} for rec in records]
    base_elapsed = time.perf_counter() - t_base

    # Scored as `codesense eval` scores its headline: codes compared without the encounter's 7th
    # character, and a gold code that is a category today read by one predicted code beneath it.
    gold_all = [{compare_key(c) for c in rec.codes} for rec in records]
    gold_valid = [{compare_key(c) for c in rec.codes if codeset.exists(c)} for rec in records]

    def report(name: str, preds: list[set[str]]) -> None:
        full = micro(zip(preds, gold_all, strict=True))
        valid = micro((read_categories(p, g), g) for p, g in zip(preds, gold_valid, strict=True))
        cat = micro(
            (({category(c) for c in p}, {category(c) for c in g}))
            for p, g in zip(preds, gold_all, strict=True)
        )
        print(
            f"{name:<44} valid-gold P {valid.precision:.3f} R {valid.recall:.3f} "
            f"F1 {valid.f1:.3f} | all-gold F1 {full.f1:.3f} | category F1 (all gold) {cat.f1:.3f}"
        )

    lat_ms = sorted(x * 1000 for x in latencies)
    p95 = lat_ms[min(len(lat_ms) - 1, int(0.95 * len(lat_ms)))]
    print(f"CodiEsp dev: {len(records)} charts, {sum(len(r.text) for r in records)} characters")
    print(
        f"in-process start-up (service, term index, NLP load, one warm-up chart): {startup:.1f} s wall"
    )
    print(
        f"in-process Service.code_chart (warm, stored and audited, no CLI): "
        f"{len(records) / elapsed:.1f} charts/s wall, p50 {statistics.median(lat_ms):.0f} ms, "
        f"p95 {p95:.0f} ms wall per chart, {cpu_per_chart * 1000:.0f} ms CPU per chart, "
        f"peak RSS {peak_mb:.0f} MB"
    )
    base_rate = len(records) / base_elapsed
    print(f"exact-match baseline (in-process, same charts): {base_rate:.0f} charts/s wall")
    for name, ms in two_page.items():
        print(
            f"two-page note {name}: {ms:.0f} ms wall (in-process Service.code_file, median of 5, warm)"
        )
    if not args.no_cli:
        f = _cli_figures(records, tmp)
        print(
            f"cold start to first code (codesense code ed_note.txt, caches built, median of 3): "
            f"{f['cold_wall']:.2f} s wall, {f['cold_cpu']:.2f} s CPU"
        )
        print(
            f"codesense code --format json marginal ({f['code_n']:.0f} charts against 25, "
            f"start-up cancels): {f['marginal_wall']:.1f} charts/s wall, "
            f"{f['marginal_cpu']:.1f} charts per CPU-second (one worker per core); one process "
            f"(--workers 1): {f['marginal_wallone']:.1f} charts/s wall, "
            f"{f['marginal_cpuone']:.1f} per CPU-second | exact-match baseline in this run: "
            f"{base_rate:.0f} charts/s wall"
        )
        for engine in ("local", "dask"):
            print(
                f"codesense batch --engine {engine}: 1 worker {f[f'batch_{engine}_1']:.1f} charts/s,"
                f" 2 workers {f[f'batch_{engine}_2']:.1f} charts/s wall (start-up included); "
                f"{f[f'batch_{engine}_1_cpu']:.1f} / {f[f'batch_{engine}_2_cpu']:.1f} charts per "
                "CPU-second"
            )
        print(
            f"long inpatient encounter ({f['encounter_words']:.0f} words, "
            f"{f['encounter_chars']:.0f} chars): {f['encounter_wall']:.1f} s wall, "
            f"{f['encounter_cpu']:.1f} s CPU, {f['encounter_codes']:.0f} codes, peak RSS "
            f"{f['encounter_rss_mb']:.0f} MB"
        )
    load = os.getloadavg()
    print(
        f"load average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"on {os.cpu_count()} cores (wall times stretch with it; CPU times much less)"
    )
    print(
        "accuracy, all-mentions mode (every mention's codes, whatever its assertion), scored as "
        "`codesense eval` scores its headline:"
    )
    report("Code Sense (in-process Service.code_chart)", predicted)
    report("exact-match baseline", base_pred)
    return 0


if __name__ == "__main__":
    sys.exit(main())
