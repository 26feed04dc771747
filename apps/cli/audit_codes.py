"""`codesense audit-codes`: Audit Sentinel on the command line.

One chart: `codesense audit-codes FILE --codes E11.22,I10 [--setting] [--format table|json]`.
A batch: `codesense audit-codes --batch manifest.csv --report DIR`, a CSV with the columns `path`
and `codes` (paths relative to the manifest), audited with a progress bar into `DIR/report.md`
and `DIR/report.html`. A bad row gets one line on stderr and the batch goes on; the exit status
is 2 at the end when any row failed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from core.errors import ChartInputError, CodeSenseError


def register(sub: Any) -> None:
    audit = sub.add_parser(
        "audit-codes",
        help="check codes already assigned against a chart's documentation (Audit Sentinel)",
    )
    audit.add_argument("file", nargs="?", metavar="FILE", help="chart: .txt, .pdf or FHIR .json")
    audit.add_argument("--codes", default=None, help="the assigned codes, e.g. E11.22,N18.31,I10")
    audit.add_argument(
        "--setting", choices=["outpatient", "inpatient"], default=None, help="coding setting"
    )
    audit.add_argument("--format", choices=["table", "json"], default="table")
    audit.add_argument(
        "--batch", type=Path, default=None, metavar="MANIFEST", help="CSV with columns path,codes"
    )
    audit.add_argument(
        "--report", type=Path, default=None, metavar="DIR", help="where a batch writes its report"
    )
    audit.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.batch is not None:
        if args.file is not None or args.codes is not None:
            raise CodeSenseError("--batch takes its files and codes from the manifest alone")
        if args.report is None:
            raise CodeSenseError("--batch needs --report DIR for report.md and report.html")
        return run_batch(args)
    if args.file is None or args.codes is None:
        raise CodeSenseError("give a chart FILE and --codes (or --batch MANIFEST --report DIR)")
    from agent.sentinel import parse_codes
    from apps.cli.session import open_service
    from apps.sentinel_report import render_findings
    from core.settings import Settings

    codes = parse_codes(args.codes)  # a typo fails before anything loads
    settings = Settings()
    service, actor = open_service(settings)
    report = _audit_file(service, actor, Path(args.file), codes, args.setting or settings.setting)
    if args.format == "json":
        sys.stdout.write(report.model_dump_json() + "\n")
    else:
        render_findings(report, Path(args.file).name)
    return 0


def run_batch(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from apps.cli.session import open_service
    from apps.sentinel_report import batch_html, batch_markdown
    from core.settings import Settings

    rows = read_manifest(args.batch)
    settings = Settings()
    setting = args.setting or settings.setting
    args.report.mkdir(parents=True, exist_ok=True)
    service, actor = open_service(settings)
    base = args.batch.resolve().parent
    with Progress(
        TextColumn("[bold]auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        # The bar and the bad rows go to stderr; stdout keeps the summary line.
        console=Console(stderr=True, highlight=False),
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(rows))
        for row in rows:
            progress.update(task, description=Path(row.path).name[:40])
            if row.error is None:
                try:
                    path = Path(row.path)
                    row.report = _audit_file(
                        service,
                        actor,
                        path if path.is_absolute() else base / path,
                        row.codes,
                        setting,
                    )
                except CodeSenseError as err:
                    row.error = str(err)
            if row.error is not None:
                progress.console.print(
                    f"codesense: line {row.line}: {row.error}",
                    style="red",
                    soft_wrap=True,
                    markup=False,
                )
            progress.advance(task)
    (args.report / "report.md").write_text(batch_markdown(rows), encoding="utf-8")
    (args.report / "report.html").write_text(batch_html(rows), encoding="utf-8")
    failed = sum(1 for r in rows if r.report is None)
    findings = sum(len(r.report.findings) for r in rows if r.report)
    print(
        f"audited {len(rows) - failed} of {len(rows)} charts, {findings} findings: "
        f"{args.report / 'report.md'}, {args.report / 'report.html'}"
    )
    return 2 if failed else 0


def read_manifest(path: Path) -> list[Any]:
    """The manifest's rows; a row with no path or no codes is kept, marked failed."""
    from apps.sentinel_report import BatchRow

    if not path.is_file():
        raise ChartInputError(f"{path.name}: no such manifest")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = {c.strip().lower() for c in reader.fieldnames or []}
            if not {"path", "codes"} <= columns:
                raise ChartInputError(
                    f"{path.name}: a manifest needs the columns path,codes (found: "
                    f"{','.join(sorted(columns)) or 'none'})"
                )
            rows = []
            for n, raw in enumerate(reader, start=2):
                record = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k}
                row = BatchRow(line=n, path=record.get("path", ""), codes=record.get("codes", ""))
                if not row.path or not row.codes:
                    row.error = "a row needs both a path and codes"
                rows.append(row)
    except UnicodeDecodeError:
        raise ChartInputError(f"{path.name}: not a UTF-8 CSV file") from None
    except csv.Error as err:
        raise ChartInputError(f"{path.name}: not a CSV file ({err})") from None
    if not rows:
        raise ChartInputError(f"{path.name}: no rows to audit")
    return rows


def _audit_file(service: Any, actor: Any, path: Path, codes: Any, setting: str) -> Any:
    if path.suffix.lower() == ".json":
        from apps.cli.code import _read_json

        if not path.is_file():
            raise ChartInputError(f"{path.name}: no such file")
        return service.audit_codes(actor, codes=codes, fhir=_read_json(path), setting=setting)
    return service.audit_codes(actor, codes=codes, path=path, setting=setting)
