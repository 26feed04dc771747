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
    ("K80.20", "Cholelithiasis (without cholecystitis)"),
    ("K81.0", "Acute cholecystitis"),
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


def test_without_evidence_of_inside_a_reading_negates_only_what_follows(index):
    ms = _mentions("IMPRESSION: Cholelithiasis without evidence of acute cholecystitis.", index)
    assert _status(ms, "K80.20") == ["present"]
    assert _status(ms, "K81.0") == ["negated"]
    assert _status(_mentions("IMPRESSION: No evidence of cholelithiasis.", index), "K80.20") == [
        "negated"
    ]


def test_each_clause_after_a_semicolon_is_read(index):
    # The index reads a term once per word list; the second clause names it again.
    text = "ASSESSMENT: Fever at night, now settled; fever again since Tuesday, pneumonia."
    ms = _mentions(text, index)
    fevers = [m.text for m in ms if m.codes[0] == "R50.9"]
    assert len(fevers) == 2
    assert _status(ms, "J18.9") == ["present"]
    # Without the semicolon one reading stands, as before.
    one = _mentions("ASSESSMENT: Fever at night, now settled, fever again since Tuesday.", index)
    assert len([m for m in one if m.codes[0] == "R50.9"]) == 1


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


def _context_with(rules):
    """A ConText over the clinical tokenizer with exactly `rules`."""
    from medspacy.context import ConText

    from tools.extract.sections import clinical_nlp

    nlp = clinical_nlp()
    context = ConText(nlp, rules=None, input_span_type="group", span_group_name="concepts")
    context.add(rules)
    return nlp, context


def _readings(nlp, context, text: str, target: str):
    doc = nlp.make_doc(text)
    for token in doc:
        token.is_sent_start = token.i == 0
    start = text.index(target)
    doc.spans["concepts"] = [doc.char_span(start, start + len(target), label="CONCEPT")]
    context(doc)
    span = doc.spans["concepts"][0]
    return sorted((m.category, m.modifier_span) for m in span._.modifiers)


def test_token_patterns_as_phrases_read_the_same():
    """ConText's word-choice token patterns, expanded into phrases, modify the same concepts
    through the same cue spans, with the pattern's literal as cue; a phrase a literal rule also
    matches stays a token pattern, so the token pattern still wins that tie."""
    from medspacy.context import ConTextRule

    from tools.extract.sections import clinical_nlp
    from tools.mentions import _cue, as_phrases

    rules = [
        ConTextRule(
            literal="are ruled out",
            category="NEGATED_EXISTENCE",
            direction="BACKWARD",
            pattern=[
                {"LOWER": {"IN": ["are", "is", "was", "Were", "has been"]}},
                {"LOWER": "ruled"},
                {"LOWER": "out", "OP": "?"},
            ],
        ),
        ConTextRule(
            literal="possible",
            category="POSSIBLE_EXISTENCE",
            direction="FORWARD",
            pattern=[{"LOWER": {"IN": ["possible", "probably"]}}],
        ),
        ConTextRule(literal="probably", category="HISTORICAL", direction="FORWARD"),
    ]
    phrased = as_phrases(rules, clinical_nlp().tokenizer)
    literals = {(r.literal, r.pattern is None, _cue(r)) for r in phrased}
    # Capitals and spaces can match no token; "probably" is shared with a literal rule.
    assert ("is ruled", True, "are ruled out") in literals
    assert ("was ruled out", True, "are ruled out") in literals
    assert not any(lit.startswith(("were", "has been")) for lit, _, _ in literals)
    assert ("probably", False, "possible") in literals
    assert ("possible", True, "possible") in literals

    old, new = _context_with(rules), _context_with(phrased)
    for text, target in [
        ("Pneumonia was ruled out today.", "Pneumonia"),
        ("Sepsis is ruled by the team.", "Sepsis"),
        ("Were ruled out: Sepsis.", "Sepsis"),
        ("Probably pneumonia.", "pneumonia"),
        ("Possible pneumonia.", "pneumonia"),
    ]:
        assert _readings(*old, text, target) == _readings(*new, text, target), text
    doc = new[0].make_doc("Probably pneumonia.")
    for token in doc:
        token.is_sent_start = token.i == 0
    doc.spans["concepts"] = [doc.char_span(9, 18, label="CONCEPT")]
    new[1](doc)
    # The token pattern wins the tie with the literal rule, as before the expansion.
    assert [_cue(m.rule) for m in doc.spans["concepts"][0]._.modifiers] == ["possible"]


def test_mentions_come_in_text_order(index):
    # The order vague neoplasms are resolved in ("the closest one before it").
    text = "ASSESSMENT: fever, hypertension and type 2 diabetes with diabetic nephropathy."
    ms = _mentions(text, index)
    assert [m.codes[0] for m in ms] == ["R50.9", "I10", "E11.21"]
    assert [(m.start, m.end) for m in ms] == sorted((m.start, m.end) for m in ms)


def test_context_windows_start_sentences_where_the_chart_does():
    """ConText's scope ends at a sentence: each token of a window starts one exactly when its
    first character is a sentence start of the chart, through folding that adds characters."""
    from tools.folding import fold
    from tools.mentions import _read_context

    class Sentence:
        def __init__(self, start: int, end: int) -> None:
            self.start, self.end = start, end

    text = "No fever. Cough ½ day; Ⅳ fluids. ﬁbrosis noted. Denies pain."
    bounds = [0, 10, 33, 48, len(text)]
    sentences = [Sentence(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]
    # The first sentence holds no mention: the window starts at the second.
    words = ["Cough", "fluids", "brosis", "pain"]
    found = []
    for w in words:
        at = text.index(w)
        found.append((at, at + len(w), None, next(s for s in sentences if s.start <= at < s.end)))
    readings = _read_context(text, found, bounds[:-1])
    doc = readings[0].doc
    w0 = bounds[1]
    folded = fold(text[w0:])
    starts = set(bounds[:-1])
    expected = [t.i == 0 or folded.origin[t.idx] + w0 in starts for t in doc]
    assert [t.is_sent_start for t in doc] == expected
    assert sum(expected) == 3
    assert [s.start_char for s in doc.sents] == [folded.position(b - w0) for b in bounds[1:-1]]


def test_words_after_a_header_are_read_and_the_header_is_not(index):
    text = (
        "CHIEF COMPLAINT: chest pain\nASSESSMENT: hypertension and fever.\n"
        "Plan: recheck. Heart failure NOS: stable."
    )
    doc = structure(
        Document(
            doc_id="d1",
            source_name="t.txt",
            kind="text",
            text=text,
            sha256="0" * 64,
            runs=[TextRun(start=0, end=len(text))],
        )
    )
    headers = [(s.header_start, s.header_end) for s in doc.sections if s.header_end]
    assert len(headers) >= 2
    mentions = find_mentions(MentionsInput(document=doc), index).mentions
    assert {"R07.9", "I10", "R50.9", "I50.9"} <= {m.codes[0] for m in mentions}
    for m in mentions:
        assert not any(h0 < m.end and m.start < h1 for h0, h1 in headers), m.text
