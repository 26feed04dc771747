"""`codesense batch` on a process pool and on dask, resumable, per-chart errors, durable results;
the same batch on PostgreSQL with the audit chain verified after it; long charts in a batch."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest

from apps.cli import main
from tests.conftest import EXAMPLES, ROOT

NOTES = ["ed_note.txt", "radiology_report.txt", "clinic_progress_note.txt"]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of the test's own (runs, audit log), sharing the built caches."""
    folder = tmp_path / "data"
    folder.mkdir()
    shared = Path(os.environ["CODESENSE_DATA_DIR"]) / "cache"
    (folder / "cache").symlink_to(shared.resolve(), target_is_directory=True)
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(folder))
    return folder


def _lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _verify(
    data_dir: Path, run_ids: set[str], database_url: str | None = None
) -> tuple[bool, int, set[str]]:
    """(chain verifies, events, the runs among `run_ids` with a stored end or pause event)."""
    from core.settings import Settings
    from store.records import Records
    from store.verify import verify_log

    settings = Settings(data_dir=data_dir, database_url=database_url)
    records = Records.open(settings)
    try:
        report = verify_log(records.audit)
        ended = {
            run_id
            for run_id in run_ids
            if any(e.action in ("run.end", "run.pause") for e in records.audit.events(run_id))
        }
    finally:
        records.close()
    return report.ok, report.events, ended


def _folder(tmp_path: Path) -> Path:
    charts = tmp_path / "charts"
    charts.mkdir()
    for name in NOTES:
        shutil.copy(EXAMPLES / name, charts / name)
    (charts / "empty.txt").write_bytes(b"")
    return charts


def test_local_batch_codes_every_chart_records_errors_and_resumes(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
):
    charts = _folder(tmp_path)
    out = tmp_path / "results.jsonl"
    code = main(["batch", str(charts), "--out", str(out), "--workers", "2"])
    assert code == 2  # one chart failed; the others were coded
    lines = {rec["input"]: rec for rec in _lines(out)}
    assert set(lines) == {*NOTES, "empty.txt"}
    assert lines["empty.txt"]["error"]["kind"] == "ChartInputError"
    for name in NOTES:
        assert lines[name]["schema_version"] == 1 and lines[name]["suggestions"]
    # Every result line is a run whose events are stored and chained.
    runs = {lines[n]["run_id"] for n in NOTES}
    ok, events, ended = _verify(data_dir, runs)
    assert ok and events > 0
    assert ended == runs

    # A rerun skips what is done and only retries the failure.
    (charts / "empty.txt").write_text("Assessment: type 2 diabetes mellitus.\n")
    assert main(["batch", str(charts), "--out", str(out), "--workers", "2"]) == 0
    again = _lines(out)
    assert len([r for r in again if "error" not in r]) == len(NOTES) + 1
    assert "1 coded, 0 failed, 3 already done of 4" in capsys.readouterr().err


def test_dask_batch_on_a_jsonl_and_a_csv_manifest(tmp_path: Path, data_dir: Path):
    jsonl = tmp_path / "charts.jsonl"
    jsonl.write_bytes(
        b"".join(
            orjson.dumps({"id": f"c{i}", "text": (EXAMPLES / n).read_text()}) + b"\n"
            for i, n in enumerate(NOTES)
        )
    )
    out = tmp_path / "dask.jsonl"
    code = main(["batch", str(jsonl), "--out", str(out), "--engine", "dask", "--workers", "2"])
    assert code == 0
    assert sorted(r["input"] for r in _lines(out)) == ["c0", "c1", "c2"]
    runs = {r["run_id"] for r in _lines(out)}
    ok, _, ended = _verify(data_dir, runs)
    assert ok and ended == runs

    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"id,path\na,{EXAMPLES / NOTES[0]}\nb,missing.txt\n")
    out2 = tmp_path / "csv.jsonl"
    assert main(["batch", str(manifest), "--out", str(out2), "--workers", "1"]) == 2
    by_id = {r["input"]: r for r in _lines(out2)}
    assert "error" in by_id["b"] and "suggestions" in by_id["a"]


def test_a_store_the_dask_workers_cannot_open_is_one_line(
    tmp_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
):
    monkeypatch.setenv(
        "CODESENSE_DATABASE_URL", "postgresql://127.0.0.1:5432/codesense_no_such_database"
    )
    jsonl = tmp_path / "charts.jsonl"
    jsonl.write_bytes(orjson.dumps({"id": "a", "text": "Assessment: hypertension."}) + b"\n")
    out = tmp_path / "o.jsonl"
    assert main(["batch", str(jsonl), "--out", str(out), "--engine", "dask", "--workers", "1"]) == 2
    err = capfd.readouterr().err
    assert "codesense: cannot connect to PostgreSQL" in err
    # The workers' own record of the failed task (a traceback) stays out of the terminal.
    assert "Traceback" not in err and "Compute Failed" not in err


def test_bad_batch_input_is_one_line(tmp_path: Path, data_dir: Path, capsys):
    bad = tmp_path / "charts.jsonl"
    bad.write_text('{"id": "a"}\n')
    assert main(["batch", str(bad), "--out", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "line 1: needs a 'text' or a 'path'" in err and "Traceback" not in err
    assert main(["batch", str(tmp_path), "--out", "o.jsonl", "--scheduler", "tcp://x:1"]) == 2
    capsys.readouterr()
    latin = tmp_path / "manifest.csv"
    latin.write_bytes("id,path\ncaf\xe9,a.txt\n".encode("latin-1"))
    assert main(["batch", str(latin), "--out", str(tmp_path / "o.jsonl")]) == 2
    folder = tmp_path / "results"
    folder.mkdir()
    assert main(["batch", str(bad), "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "manifest.csv: not UTF-8 text" in err
    assert "results: is a folder; --out names the results file" in err
    # One line each: no traceback, and no progress bar drawn before the error.
    assert "Traceback" not in err and "coding" not in err


def test_a_chart_over_a_million_characters_is_coded_and_so_is_the_next(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
):
    """Issue 12.3: spaCy's max_length crashed the long chart and lost the next one."""
    summary = (EXAMPLES / "discharge_summary.txt").read_text()
    rows = "".join(
        f"Day {d // 12 + 1} {(d % 12) * 2:02d}:00  T 37.{d % 9} C  HR {60 + d % 50}  "
        f"BP {110 + d % 40}/{60 + d % 30}  RR {14 + d % 8}  SpO2 {90 + d % 9}% on room air\n"
        for d in range(15_000)
    )
    long_chart = tmp_path / "stay.txt"
    long_chart.write_text(summary + "\nNURSING FLOWSHEET\n" + rows + "\n" + summary)
    assert long_chart.stat().st_size > 1_000_000
    code = main(
        ["code", "--format", "json", "--setting", "inpatient", str(long_chart),
         str(EXAMPLES / "ed_note.txt")]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    results = [orjson.loads(line) for line in captured.out.splitlines()]
    assert len(results) == 2
    stay = results[0]
    text = long_chart.read_text()
    codes = {s["code"] for s in stay["suggestions"]}
    assert {"I50.23", "N18.31"} & codes or any(c.startswith(("I50", "I13")) for c in codes)
    # Offsets hold at the far end of the chart too: the second summary's quotes are its text.
    late = [e for s in stay["suggestions"] for e in s["evidence"] if e["start"] > 1_000_000]
    assert late and all(text[e["start"] : e["end"]] == e["quote"] for e in late)
    assert results[1]["suggestions"]


@pytest.mark.slow
def test_acknowledged_charts_survive_a_kill_mid_group(tmp_path: Path, data_dir: Path):
    """`codesense code` prints a group's results only after its sync: kill it right after the
    first results appear, and every printed run is in the store with its end event."""
    files = []
    for i in range(30):
        p = tmp_path / f"note{i}.txt"
        p.write_text((EXAMPLES / NOTES[i % 3]).read_text() + f"\nVisit {i}.\n")
        files.append(str(p))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CODESENSE_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "apps.cli", "code", "--format", "json", *files],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    rest = proc.stdout.read()
    proc.wait()
    printed = [orjson.loads(line) for line in [first, *rest.splitlines()] if line.strip()]
    assert printed, "nothing was acknowledged before the kill"
    runs = {r["run_id"] for r in printed}
    ok, _, ended = _verify(data_dir, runs)
    assert ok
    assert ended == runs


def _pg_url() -> tuple[str | None, str]:
    base = os.environ.get("CODESENSE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
    try:
        import psycopg

        psycopg.connect(base, connect_timeout=3).close()
    except ImportError:
        return None, "psycopg not installed"
    except Exception as err:  # the server's own words, first line
        return None, (str(err).strip().splitlines() or [type(err).__name__])[0]
    return base, ""


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database URL whose search path is a fresh schema of the local PostgreSQL, dropped after
    the test; the test skips, saying why, when no server is reachable."""
    base, why = _pg_url()
    if base is None:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432/test: {why}")
    import psycopg

    schema = "cs_batch_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_parallel_batch_on_postgresql_keeps_one_verified_chain(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
):
    monkeypatch.setenv("CODESENSE_DATABASE_URL", pg_url)
    charts = tmp_path / "charts"
    charts.mkdir()
    for i in range(8):
        (charts / f"n{i}.txt").write_text((EXAMPLES / NOTES[i % 3]).read_text() + f"\nVisit {i}.\n")
    out = tmp_path / "pg.jsonl"
    assert main(["batch", str(charts), "--out", str(out), "--workers", "2"]) == 0
    lines = _lines(out)
    assert len(lines) == 8
    runs = {r["run_id"] for r in lines}
    ok, events, ended = _verify(data_dir, runs, pg_url)
    assert ok and events >= 8
    assert ended == runs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dask scheduler exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("dask scheduler never listened")


def test_a_batch_joins_a_running_cluster_whose_worker_runs_elsewhere(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
):
    """The README's two-machine setup on loopback: `dask scheduler`, a `dask worker` started in
    another folder with a data directory of its own (another machine's), one PostgreSQL store and
    one key file; the batch names its charts by a relative folder, as a person at A types it."""
    key = tmp_path / "secret.key"
    key.write_text(uuid.uuid4().hex + uuid.uuid4().hex)
    key.chmod(0o600)
    machine_b = tmp_path / "machine-b"
    (machine_b / "data").mkdir(parents=True)
    (machine_b / "data" / "cache").symlink_to((data_dir / "cache").resolve())
    env = {
        **os.environ,
        "CODESENSE_DATABASE_URL": pg_url,
        "CODESENSE_SECRET_KEY_FILE": str(key),
        "CODESENSE_DATA_DIR": str(machine_b / "data"),
        "PYTHONPATH": str(ROOT),
    }
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"],
        cwd=machine_b, env=env, **quiet,
    )  # fmt: skip
    worker = None
    try:
        _wait_for_port(port, scheduler)
        worker = subprocess.Popen(
            [str(bin_dir / "dask"), "worker", address, "--nworkers", "2", "--nthreads", "1",
             "--host", "127.0.0.1", "--no-dashboard"],
            cwd=machine_b, env=env, **quiet,
        )  # fmt: skip
        monkeypatch.setenv("CODESENSE_DATABASE_URL", pg_url)
        monkeypatch.setenv("CODESENSE_SECRET_KEY_FILE", str(key))
        monkeypatch.chdir(tmp_path)
        charts = tmp_path / "charts"
        charts.mkdir()
        for i in range(4):
            (charts / f"n{i}.txt").write_text((EXAMPLES / NOTES[i % 3]).read_text())
        args = ["batch", "charts", "--out", "out.jsonl", "--engine", "dask", "--scheduler"]
        assert main([*args, address]) == 0
        lines = _lines(tmp_path / "out.jsonl")
        assert sorted(r["input"] for r in lines) == [f"n{i}.txt" for i in range(4)]
        runs = {r["run_id"] for r in lines}
        ok, events, ended = _verify(data_dir, runs, pg_url)
        assert ok and events > 0
        assert ended == runs
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


_seen: list[tuple[str, bool]] = []


def _note_init(tag: str) -> None:
    _seen.append((f"init {tag}", gc.isenabled()))


def _note_task(task: int) -> int:
    _seen.append((f"task {task}", gc.isenabled()))
    return task


def test_a_worker_collects_no_garbage_until_loaded_and_one_task_done():
    """As `codesense code` does (apps/heap.py): collection paused while a worker initialises and
    codes its first chart, then on again; a second initialisation pauses it again."""
    from apps.batch.engines import run_tasks

    assert gc.isenabled()
    _seen.clear()
    tag = uuid.uuid4().hex
    assert list(run_tasks(_note_task, [1, 2], init=_note_init, init_args=(tag,))) == [1, 2]
    assert _seen == [(f"init {tag}", False), ("task 1", False), ("task 2", True)]
    assert gc.isenabled()
    _seen.clear()
    assert list(run_tasks(_note_task, [3], init=_note_init, init_args=(tag,))) == [3]
    assert _seen == [("task 3", True)]
