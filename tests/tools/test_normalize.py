"""Normalisation: abbreviations, synonyms and plurals, with chart offsets kept."""

from tools.normalize import default_normalizer, stem


def _norms(text: str) -> list[str]:
    return [w.norm for w in default_normalizer().words(text)]


def test_abbreviations_expand_and_keep_their_span():
    text = "Pt with T2DM and CKD 3a, h/o HTN"
    words = default_normalizer().words(text)
    expanded = [w for w in words if text[w.start : w.end] == "T2DM"]
    assert [w.norm for w in expanded] == ["type 2", "diabetes", "mellitus"]
    assert "hypertension" in _norms(text)
    assert _norms("CKD 3a") == ["chronic", "kidney", "disease", "stage 3a"]


def test_two_letter_abbreviations_need_exact_case():
    assert "embolism" in _norms("Dx: PE")
    assert "embolism" not in _norms("pe")


def test_synonyms_meet_code_title_words():
    n = default_normalizer()
    # Word order does not matter to a match: keys are compared as sets.
    assert set(n.key_words("Type II diabetic nephropathy")) == set(
        n.key_words("type 2 diabetes nephropathy")
    )
    assert set(n.key_words("renal cysts")) == set(n.key_words("cyst of kidney"))


def test_stem_is_predictable():
    assert stem("cysts") == "cyst"
    assert stem("arteries") == "artery"
    assert stem("diabetes") == "diabetes"
    assert stem("abscess") == "abscess"
    assert stem("diagnosis") == "diagnosis"
