"""Mentions and their assertion status, on a small term index built in the test."""

import pytest

from tools.chart import Document, TextRun
from tools.extract import structure
from tools.lookup import TermIndex
from tools.mentions import MentionsInput, find_mentions
from tools.normalize import default_normalizer

TERMS = [
    ("I50.9", "Heart failure, unspecified"),
    ("I50.9", "Congestive heart failure NOS"),
    ("J18.9", "Pneumonia, unspecified organism"),
    ("I10", "Essential (primary) hypertension"),
    ("I10", "Hypertension (arterial) (benign) (essential) (malignant) (primary) (systemic)"),
    ("R07.9", "Chest pain, unspecified"),
    ("C50.919", "Malignant neoplasm of unspecified site of unspecified female breast"),
    ("C50.919", "Breast cancer"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("E11.21", "Type 2 diabetes mellitus with diabetic nephropathy"),
    ("I21.9", "Acute myocardial infarction, unspecified"),
    ("I21.9", "Myocardial infarction (acute) NOS"),
    ("R50.9", "Fever, unspecified"),
    ("G47.33", "Obstructive sleep apnea (adult) (pediatric)"),
]


@pytest.fixture(scope="module")
def index() -> TermIndex:
    n = default_normalizer()
    codes, texts, keys = [], [], []
    for code, text in TERMS:
        from tools.lookup import term_variants

        for v in term_variants(text):
            codes.append(code)
            texts.append(text)
            keys.append(n.key_words(v))
    return TermIndex(codes, texts, ["title"] * len(codes), keys, [False] * len(codes), {}, n)


def _mentions(text: str, index: TermIndex, runs: list[TextRun] | None = None):
    doc = Document(
        doc_id="d1",
        source_name="t.txt",
        kind="text",
        text=text,
        sha256="0" * 64,
        runs=runs or [TextRun(start=0, end=len(text))],
    )
    return find_mentions(MentionsInput(document=structure(doc)), index).mentions


def _status(mentions, code):
    return [m.assertion for m in mentions if m.codes[0] == code]


def test_negated_possible_historical_family_hypothetical(index):
    text = (
        "HPI: No evidence of pneumonia. Denies chest pain.\n"
        "H/o MI in 2019.\n"
        "Return if fever.\n"
        "Possible obstructive sleep apnea, rule out.\n"
        "Mother had breast cancer.\n"
    )
    ms = _mentions(text, index)
    assert _status(ms, "J18.9") == ["negated"]
    assert _status(ms, "R07.9") == ["negated"]
    assert _status(ms, "I21.9") == ["historical"]
    assert _status(ms, "R50.9") == ["hypothetical"]
    assert _status(ms, "G47.33") == ["possible"]
    assert _status(ms, "C50.919") == ["family"]


def test_chf_under_assessment_after_family_history_is_present(index):
    text = (
        "FAMILY HISTORY: Father with hypertension.\n\n"
        "ASSESSMENT AND PLAN:\n1. CHF, compensated. Continue furosemide.\n"
    )
    ms = _mentions(text, index)
    assert _status(ms, "I10") == ["family"]
    chf = [m for m in ms if m.codes[0] == "I50.9"]
    assert [m.assertion for m in chf] == ["present"]
    assert chf[0].section == "assessment_plan"
    assert text[chf[0].start : chf[0].end] == chf[0].text == "CHF"


def test_combination_wording_wins_over_its_parts(index):
    text = "ASSESSMENT: Type 2 diabetes with diabetic nephropathy, stable."
    ms = _mentions(text, index)
    assert [m.codes[0] for m in ms] == ["E11.21"]
    assert "E11.9" in [c.code for c in ms[0].candidates]  # the code it beat stays visible
    assert ms[0].text == "Type 2 diabetes with diabetic nephropathy"


def test_word_order_and_abbreviations(index):
    ms = _mentions("A/P: nephropathy due to T2DM.", index)
    assert [m.codes[0] for m in ms] == ["E11.21"]


def test_hidden_text_gives_no_mention(index):
    text = "Assessment: hypertension. Pneumonia."
    cut = text.index("Pneumonia")
    runs = [
        TextRun(start=0, end=cut),
        TextRun(start=cut, end=len(text), visible=False, hidden_reason="low_contrast"),
    ]
    ms = _mentions(text, index, runs)
    assert [m.codes[0] for m in ms] == ["I10"]
