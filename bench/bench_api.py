"""The warm server under load: 8 clients post the two-page note for 60 s (`make bench-api`).

Starts `codesense serve` on 127.0.0.1 in a fresh data directory (the term index cache is shared),
makes a coder key, then N client threads post the chart as a multipart PDF (default) or as JSON
text, back to back, for the given time. Prints requests per second, p50/p95 latency and errors,
then checks that no run was lost (every 200 is a stored, finished run; none is left `running`)
and that the audit chain verifies. The reference beside it, measured in the same run: the same
chart coded in-process through the facade, one at a time (no HTTP, no concurrency).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PDF = ROOT / "examples" / "clinic_followup.pdf"
TEXT = ROOT / "examples" / "clinic_progress_note.txt"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def reference(data_dir: Path, body: str, rounds: int) -> list[float]:
    """The same chart coded in-process through the facade, one at a time."""
    from apps.actors import Actor
    from apps.service import Service
    from core.settings import Settings

    service = Service(Settings(data_dir=data_dir))
    actor = Actor(id="bench", role="admin")
    service.warm()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        if body == "pdf":
            service.code_upload(actor, PDF.read_bytes(), PDF.name)
        else:
            service.code_text(actor, TEXT.read_text(encoding="utf-8"))
        times.append(time.perf_counter() - t)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--body", choices=["pdf", "text"], default="pdf")
    args = parser.parse_args()

    import httpx

    folder = Path(tempfile.mkdtemp(prefix="codesense-bench-api-"))
    data = folder / "data"
    data.mkdir()
    cache = ROOT / ".codesense" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (data / "cache").symlink_to(cache, target_is_directory=True)
    env = {**os.environ, "CODESENSE_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "apps.cli"]
    token = (
        subprocess.run(
            [*cli, "apikey", "create", "--name", "bench.coder", "--role", "coder"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    auditor = (
        subprocess.run(
            [*cli, "apikey", "create", "--name", "bench.auditor", "--role", "auditor"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        ready = time.perf_counter() - started
        auth = {"Authorization": f"Bearer {token}"}
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        run_ids: list[str] = []
        lock = threading.Lock()
        stop_at = time.perf_counter() + args.seconds

        def client() -> None:
            with httpx.Client(base_url=url, timeout=300) as http:
                while time.perf_counter() < stop_at:
                    t = time.perf_counter()
                    if args.body == "pdf":
                        r = http.post(
                            "/v1/charts/code",
                            files={"file": (PDF.name, PDF.read_bytes(), "application/pdf")},
                            headers=auth,
                        )
                    else:
                        r = http.post(
                            "/v1/charts/code",
                            json={"text": TEXT.read_text(encoding="utf-8")},
                            headers=auth,
                        )
                    elapsed = time.perf_counter() - t
                    with lock:
                        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                        if r.status_code == 200:
                            latencies.append(elapsed)
                            run_ids.append(r.json()["run_id"])

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        with httpx.Client(base_url=url, timeout=600) as http:
            audit_auth = {"Authorization": f"Bearer {auditor}"}
            verify = http.get("/v1/audit/verify", headers=audit_auth).json()
            stored = {}
            for run_id in run_ids:
                r = http.get(f"/v1/runs/{run_id}", headers=audit_auth)
                stored[run_id] = r.status_code
            running = http.get(
                "/v1/runs", params={"status": "running", "limit": 1000}, headers=audit_auth
            ).json()["runs"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)

    ref = reference(data, args.body, rounds=10)
    ok = sum(1 for s in stored.values() if s == 200)
    print(
        f"# bench-api: {args.clients} clients, {args.seconds:.0f} s, body {args.body} ({PDF.name if args.body == 'pdf' else TEXT.name})"
    )
    print("| figure | value |")
    print("|---|---|")
    print(f"| server start to ready | {ready:.1f} s |")
    print(f"| requests answered 200 | {len(latencies)} ({statuses}) |")
    print(f"| requests per second | {len(latencies) / wall:.2f} |")
    print(
        f"| latency p50 / p95 | {statistics.median(latencies) * 1000:.0f} / {_percentile(latencies, 0.95) * 1000:.0f} ms |"
    )
    print(
        f"| reference: in-process facade, one at a time, p50 | {statistics.median(ref) * 1000:.0f} ms ({1 / statistics.median(ref):.2f} charts/s) |"
    )
    print(f"| runs stored for the 200s | {ok} of {len(run_ids)}; left running: {len(running)} |")
    print(
        f"| audit chain | {'verifies' if verify['ok'] else 'BROKEN: ' + str(verify.get('problem'))}, {verify['events']} events |"
    )
    shutil.rmtree(folder, ignore_errors=True)
    lost = len(run_ids) - ok + len(running)
    return 0 if verify["ok"] and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
