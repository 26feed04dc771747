"""`codesense rules list|show|check|find`."""

from __future__ import annotations

from apps.cli import main


def test_rules_list(capsys):
    assert main(["rules", "list", "--kind", "combine"]) == 0
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert lines and all(" combine " in line for line in lines)
    assert "combo.diabetes-ckd" in out.out and "rules version sha256:" in out.err


def test_rules_list_by_code(capsys):
    assert main(["rules", "list", "--code", "I13.0"]) == 0
    assert "combo.hypertension-heart-ckd " in capsys.readouterr().out


def test_rules_show(capsys):
    assert main(["rules", "show", "assertion.uncertain-outpatient"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# rules/guidelines/00-assertions.yaml line ")
    assert "citation: Section IV.H" in out and "kind: suppress-assertion" in out


def test_rules_show_unknown(capsys):
    assert main(["rules", "show", "no.such.rule"]) == 2
    assert "no rule 'no.such.rule'" in capsys.readouterr().err


def test_rules_check(capsys):
    assert main(["rules", "check"]) == 0
    out = capsys.readouterr().out
    assert (
        "rules in" in out and "ICD-10-CM Official Guidelines" in out and out.strip().endswith("ok")
    )


def test_rules_find(capsys):
    assert main(["rules", "find", "insulin", "long", "term"]) == 0
    assert "additional.insulin-long-term" in capsys.readouterr().out
