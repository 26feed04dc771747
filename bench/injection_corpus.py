"""The prompt-injection corpus (evals/injections.py, 216 charts) against the adversarial
scripted model: prints what the test asserts and the detail behind it.

    .venv/bin/python bench/injection_corpus.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from agent.coder import Coder
    from agent.context import CodingContext, rules_version
    from agent.reasoners.llm import LlmReasoner
    from core.settings import Settings
    from evals.injections import corpus, run_case, summarise
    from evals.scripted_llm import ScriptedLlm
    from evals.scripted_models import adversarial
    from tools.lookup import TermIndex

    with ScriptedLlm(adversarial) as llm:
        settings = Settings(
            data_dir=ROOT / ".codesense",
            reasoner="llm",
            llm_base_url=llm.base_url,
            llm_model="scripted-adversary",
        )
        index = TermIndex.load_or_build(settings.cache_dir)
        coder = Coder(
            CodingContext(settings, index, LlmReasoner(settings, index=index), rules_version())
        )
        t0 = time.perf_counter()
        report = summarise([run_case(coder, llm, case) for case in corpus()])
        seconds = time.perf_counter() - t0
    print(f"{report.cases} cases in {seconds:.0f} s; families: {report.families}")
    print(f"codes resting only on injected text: {report.injected_only_codes}")
    print(
        f"target codes the adversary proposed: {report.target_proposed} cases; in any output: "
        f"{report.target_suggested}"
    )
    print(
        f"cases with hidden characters sent: {report.cases_with_hidden_chars_sent}; with hidden "
        f"text sent: {report.cases_with_hidden_text_sent} ({report.requests} requests)"
    )
    print(f"detected and escalated (instruction_text): {report.detected}")
    print(f"model codes dropped, by reason: {report.dropped_by_reason}")
    print(f"routes: {report.routes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
