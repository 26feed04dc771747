# Code Sense: `make demo` codes the sample charts; `make test` runs lint, types and tests.
# Both create .venv and install what they need on first use.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# What `make demo` needs (the package and its base dependencies) and what the tests, the
# benchmarks and the semantic index need on top (torch, Chroma, dask, the test tools).
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# Our packages, byte-compiled ahead: where PYTHONDONTWRITEBYTECODE is set (some sandboxes and
# CI images) every command would otherwise compile them from source, ~0.15 s of each start.
# Up to date it takes a fraction of a second; `demo` and `bench` run it before timing anything.
PACKAGES := agent apps core store tools evals

.PHONY: demo pyc test lint browser ocr bench bench-audit bench-api bench-metrics bench-sentinel bench-slack serve eval index calibrate install clean fuzz kill

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(BASE): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	@touch $(BASE)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(BASE)

install: $(STAMP) pyc

pyc: | $(VENV)/bin/python
	$(PY) -m compileall -q $(PACKAGES)

# The demo installs only what it runs: no torch, Chroma, dask or test tools.
demo: $(BASE) pyc
	$(VENV)/bin/codesense code examples/clinic_progress_note.txt examples/ed_note.txt \
		examples/radiology_report.txt examples/clinic_followup.pdf
	$(VENV)/bin/codesense code --setting inpatient examples/discharge_summary.txt

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint browser ocr
	$(VENV)/bin/pytest

# The long robustness runs (issue 12), left out of `make test` by the `fuzz` marker: 5,000
# generated hostile PDFs through the reader's child process, and 1,000 `code` and `review`
# commands killed with SIGKILL (`make kill` for those alone; about 5 s a kill on 2 cores).
fuzz: $(STAMP)
	$(VENV)/bin/pytest -m fuzz -s tests/evals/test_pdf_fuzz.py tests/apps/test_kill.py

kill: $(STAMP)
	$(VENV)/bin/pytest -m fuzz -s tests/apps/test_kill.py

# Page tests drive Debian's Chromium; install it when missing and we may (root with apt-get).
# Without it those tests say they skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		&& echo "installed chromium for the page tests"; } || true

# The scanned-page test reads a page with Debian's Tesseract; installed the same way, else that
# test says it skipped.
ocr:
	@command -v tesseract >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && apt-get install -y -qq tesseract-ocr) >/dev/null 2>&1 \
		&& echo "installed tesseract for the scanned-page test"; } || true

bench: $(STAMP) pyc
	$(PY) bench/bench_coding.py

# The semantic index of code titles, inclusion terms and index entries (about 5 min on 2 cores
# fresh; incremental and resumable after that).
index: $(STAMP)
	$(PY) -m apps.cli index build

# CodiEsp dev scored and reported into reports/codiesp-dev/ (the committed report).
eval: $(STAMP)
	$(PY) -m apps.cli index build
	$(PY) -m apps.cli eval codiesp-dev --out .codesense/evals/codiesp-dev --report reports/codiesp-dev

# Refit data/calibration.json on CodiEsp train, checked on dev.
calibrate: $(STAMP)
	$(PY) -m apps.cli eval codiesp-train --out .codesense/evals/codiesp-train
	$(PY) -m apps.cli eval codiesp-dev --out .codesense/evals/codiesp-dev
	$(PY) -m apps.cli calibrate .codesense/evals/codiesp-train --check .codesense/evals/codiesp-dev

# The warm server under load: 8 clients post the two-page note for 60 s.
bench-api: $(STAMP)
	$(PY) bench/bench_api.py

# Slack: time to acknowledge and time to the posted answer, through the real server and a stub
# of Slack's Web API (the two-page PDF shared with a mention, and a pasted note).
bench-slack: $(STAMP)
	$(PY) bench/bench_slack.py

# The leaders' figures and feedback on a store with 300 coded, reviewed and billed charts.
bench-metrics: $(STAMP)
	$(PY) bench/bench_metrics.py

# The HTTP API and the web pages on http://127.0.0.1:8000 (make a key: codesense apikey create).
serve: $(STAMP)
	$(VENV)/bin/codesense serve

# Audit cost per chart (events, write overhead) and verify speed on 1M synthetic events.
bench-audit: $(STAMP)
	$(PY) bench/bench_audit.py

bench-sentinel: $(STAMP)
	$(PY) bench/bench_sentinel.py

clean:
	rm -rf $(VENV) .codesense .pytest_cache .mypy_cache .ruff_cache
