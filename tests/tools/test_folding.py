"""Text that reads one way must code that way (issue 12, item 7): hidden format characters,
full-width and look-alike letters are read as what they look like; quotes and offsets stay on
the original text; text inside bidi overrides is never coded and its chart goes to a person."""

from __future__ import annotations

import pytest

from tools.folding import bidi_ranges, fold

DIABETES = "diabetes"
# "diabetes" as a reader sees it, written five ways a matcher on raw characters misses.
DISGUISED = {
    "zero-width space": "dia\u200bbetes",
    "soft hyphen": "dia\u00adbe\u00adtes",
    "zero-width joiner and word joiner": "di\u200dab\u2060etes",
    "cyrillic a and e": "di\u0430b\u0435tes",
    "full width": "ｄｉａｂｅｔｅｓ",
    "variation selector": "diab\ufe0fetes",
}


@pytest.mark.parametrize("written", DISGUISED.values(), ids=DISGUISED.keys())
def test_fold_reads_what_a_person_reads_and_maps_back(written: str) -> None:
    folded = fold(written)

    assert folded.text == DIABETES
    assert folded.span(0, len(folded.text)) == (0, len(written))


def test_fold_keeps_ascii_as_it_is_and_controls_separate_words() -> None:
    assert fold("Type 2 diabetes.").text == "Type 2 diabetes."
    # ESC between words stays a separator, not glue.
    assert fold("asthma\x1bcopd\u00e9").text == "asthma copd\u00e9"


def test_bidi_ranges_cover_overrides_embeddings_and_isolates() -> None:
    text = "a \u202eType 2 diabetes\u202c b \u2067x\u2069 c \u202bopen\nnext"
    ranges = bidi_ranges(text)
    assert [text[s:e] for s, e in ranges] == [
        "\u202eType 2 diabetes\u202c",
        "\u2067x\u2069",
        "\u202bopen",
    ]
    assert bidi_ranges("plain text") == []


def _note(diagnosis: str) -> str:
    return f"ASSESSMENT AND PLAN:\n1. Type 2 {diagnosis} mellitus, stable on metformin.\n"


@pytest.mark.parametrize("written", DISGUISED.values(), ids=DISGUISED.keys())
def test_disguised_diabetes_is_coded_as_diabetes_with_the_original_quote(
    coder, written: str
) -> None:
    note = _note(written)
    result = coder.code_text(note, "outpatient")

    codes = [s.code for s in result.suggestions]
    assert "E11.9" in codes, codes
    assert not any(c.startswith("R73") for c in codes)
    [suggestion] = [s for s in result.suggestions if s.code == "E11.9"]
    for ev in suggestion.evidence:
        assert ev.quote == note[ev.start : ev.end]
        assert written in ev.quote or ev.quote in note


def test_lookalike_negation_still_negates(coder) -> None:
    # "Nо" with a Cyrillic о: read as "No", so the pneumonia is negated.
    note = "HISTORY OF PRESENT ILLNESS:\nCough for two days.\n\nIMPRESSION:\nN\u043e pneumonia.\n"
    result = coder.code_text(note, "outpatient")

    assert not any(s.code.startswith("J18") for s in result.suggestions)
    pneumonia = [m for m in result.mentions if "pneumonia" in m.text]
    assert pneumonia and all(m.assertion == "negated" for m in pneumonia)


def test_reversed_text_is_not_coded_and_the_chart_escalates(coder) -> None:
    # Stored "Type 2 diabetes", shown as "setebaid 2 epyT": what a reader sees is not a diagnosis.
    note = "ASSESSMENT AND PLAN:\n1. \u202eType 2 diabetes mellitus\u202c.\n2. Essential hypertension.\n"
    result = coder.code_text(note, "outpatient")

    codes = [s.code for s in result.suggestions]
    assert not any(c.startswith("E11") for c in codes)
    assert "I10" in codes  # the rest of the chart is still coded
    assert result.route == "escalate"
    [bidi] = [e for e in result.escalations if e.reason == "bidi_controls"]
    assert "not coded" in bidi.detail and "diabetes" not in bidi.detail


def _fold_one_by_one(text: str) -> tuple[str, list[int]]:
    """The folded text and origins, character by character (what `fold` must equal)."""
    from tools.folding import _fold_char
    from tools.untrusted import latin_lookalikes

    pieces: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        out = _fold_char(ch, latin_lookalikes())
        pieces.append(out)
        origin.extend([i] * len(out))
    return "".join(pieces), origin


@pytest.mark.parametrize(
    "text",
    [
        "Temp 38.5 °C, SpO2 94 %, weight 70 kg",  # each character stays one character
        "Dolor torácico: “dolor” – 3 días; µg/kg",
        "Full-width ｄｉａｂｅｔｅｓ and Cyrillic diаbetes, one character each",
        "soft hy\u00adphen and a zero-width\u200bspace removed",
        "ligature ﬁbrosis and ½ tablet grow to more characters",
        "a tab\tand a bell\x07 in one line at 5 °C",
    ],
)
def test_fold_equals_reading_character_by_character(text: str) -> None:
    # When every character folds to exactly one, offsets are not remapped at all.
    folded = fold(text)
    expected_text, expected_origin = _fold_one_by_one(text)

    assert folded.text == expected_text
    assert list(folded.origin) == expected_origin
    assert folded.original_length == len(text)
