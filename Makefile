# Code Sense: `make demo` codes the sample charts; `make test` runs lint, types and tests.
# Both create .venv and install what they need on first use.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test lint browser bench bench-audit bench-api bench-metrics serve eval index calibrate install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/codesense code examples/clinic_progress_note.txt examples/ed_note.txt \
		examples/radiology_report.txt examples/clinic_followup.pdf
	$(VENV)/bin/codesense code --setting inpatient examples/discharge_summary.txt

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint browser
	$(VENV)/bin/pytest

# Page tests drive Debian's Chromium; install it when missing and we may (root with apt-get).
# Without it those tests say they skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		&& echo "installed chromium for the page tests"; } || true

bench: $(STAMP)
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

# The leaders' figures and feedback on a store with 300 coded, reviewed and billed charts.
bench-metrics: $(STAMP)
	$(PY) bench/bench_metrics.py

# The HTTP API and the web pages on http://127.0.0.1:8000 (make a key: codesense apikey create).
serve: $(STAMP)
	$(VENV)/bin/codesense serve

# Audit cost per chart (events, write overhead) and verify speed on 1M synthetic events.
bench-audit: $(STAMP)
	$(PY) bench/bench_audit.py

clean:
	rm -rf $(VENV) .codesense .pytest_cache .mypy_cache .ruff_cache
