"""`codesense rerank dump|fit`: candidate lists with gold labels, and the reranker fitted on them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from apps.cli.options import at_least_one


def register(sub: Any) -> None:
    rr = sub.add_parser(
        "rerank",
        help="dump labelled candidate lists and fit the candidate reranker (data/reranker.json)",
        description="The reranker orders each mention's candidate codes by a model fitted on a "
        "labelled set. `dump` records every mention's candidates, features and gold labels; "
        "`fit` fits the model on one dump (cross-validated) and checks it on another.",
    )
    steps = rr.add_subparsers(dest="step", required=True, metavar="STEP")
    dump = steps.add_parser("dump", help="candidate lists with features and gold labels (.npz)")
    dump.add_argument("dataset", metavar="DATASET", help="codiesp-train, codiesp-dev or a JSONL")
    dump.add_argument("--out", type=Path, required=True, metavar="FILE", help="the .npz to write")
    dump.add_argument(
        "--limit", type=at_least_one, default=None, metavar="N", help="first N charts only"
    )
    dump.add_argument(
        "--workers", type=at_least_one, default=None, help="processes (default: all cores)"
    )
    dump.add_argument(
        "--semantic",
        action="store_true",
        help="add the semantic index's candidates and phrases (the index must be built)",
    )
    dump.set_defaults(handler=run_dump)

    fit = steps.add_parser("fit", help="fit on a dump, check on another, write the model")
    fit.add_argument("train", type=Path, metavar="DUMP", help="the dump to fit on")
    fit.add_argument("--check", type=Path, default=None, metavar="DUMP", help="held-out dump")
    fit.add_argument("--kind", choices=["boosted", "logistic"], default="boosted")
    fit.add_argument("--name", default="codiesp-train", help="what the fit is on, for the record")
    fit.add_argument("--out", type=Path, default=None, help="default: data/reranker.json")
    fit.set_defaults(handler=run_fit)

    sem = steps.add_parser(
        "fit-semantic",
        help="add a model of the semantic index's candidates to the shipped reranker",
        description="Fits, on a dump made with --semantic, which semantic candidates become "
        "readings (of their mention, or of a phrase the term index matched nothing in); the "
        "term model is kept as it is.",
    )
    sem.add_argument("train", type=Path, metavar="DUMP", help="a --semantic dump to fit on")
    sem.add_argument("--check", type=Path, default=None, metavar="DUMP", help="held-out dump")
    sem.add_argument("--kind", choices=["boosted", "logistic"], default="logistic")
    sem.add_argument("--name", default="codiesp-train", help="what the fit is on, for the record")
    sem.add_argument("--out", type=Path, default=None, help="default: data/reranker.json")
    sem.set_defaults(handler=run_fit_semantic)


def run_dump(args: argparse.Namespace) -> int:
    from core.settings import Settings
    from evals.rerank_data import dump

    settings = Settings()
    if args.semantic:
        from tools.semantic import SemanticIndexMissing, SemanticRetriever

        if not SemanticRetriever.available(settings.data_dir):
            raise SemanticIndexMissing(f"no semantic index in {settings.data_dir}")
    data = dump(
        args.dataset, args.out, settings.data_dir, args.limit, args.workers, semantic=args.semantic
    )
    mentions = len(set(data.mention.tolist()))
    print(
        f"{len(data.gold)} charts, {mentions} mentions, {len(data.labels)} candidates "
        f"({int(data.labels.sum())} right) -> {args.out}"
    )
    return 0


def run_fit(args: argparse.Namespace) -> int:
    from agent.rerank import RERANKER_FILE
    from evals.rerank_fit import fit_reranker, write_reranker

    model, lines = fit_reranker(args.train, args.check, kind=args.kind, name=args.name)
    out = args.out or RERANKER_FILE
    write_reranker(model, out)
    print("\n".join(lines))
    print(f"wrote {out} ({model.kind}, {len(model.features)} features)")
    return 0


def run_fit_semantic(args: argparse.Namespace) -> int:
    from agent.rerank import RERANKER_FILE
    from evals.rerank_fit import fit_semantic, write_reranker

    model, lines = fit_semantic(args.train, args.check, kind=args.kind, name=args.name)
    out = args.out or RERANKER_FILE
    write_reranker(model, out)
    print("\n".join(lines))
    assert model.semantic is not None
    print(
        f"wrote {out} (semantic model: {model.semantic.kind}, {len(model.semantic.features)} features)"
    )
    return 0
