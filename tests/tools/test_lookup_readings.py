"""Term index readings tuned on CodiEsp train: plurals, list items, NOS readings, site tails,
translated phrasing, neoplasms named twice, and the tabular neighbours kept as candidates."""

from __future__ import annotations

import pytest

from tools.extract import text_document
from tools.lookup import TermIndex, term_variants
from tools.mentions import MentionsInput, find_mentions
from tools.normalize import default_normalizer, stem


def _top(index: TermIndex, phrase: str) -> str | None:
    found = index.lookup(phrase)
    return found[0].code if found else None


def test_latin_and_greek_plurals():
    assert [stem(w) for w in ("edemas", "hematomas", "paresthesias", "fistulas")] == [
        "edema",
        "hematoma",
        "paresthesia",
        "fistula",
    ]
    assert stem("pancreas") == "pancreas" and stem("bias") == "bias"


def test_abbreviations_read_through_synonyms():
    n = default_normalizer()
    assert [w.norm for w in n.words("COPD")] == list(
        n.key_words("chronic obstructive pulmonary disease")
    )


def test_hepatitis_letters_are_part_of_the_name(term_index: TermIndex):
    assert _top(term_index, "hepatitis") == "K75.9"  # not B15.9, "Hepatitis A": "a" is no stopword
    assert _top(term_index, "HCV") == "B19.20"


def test_unspecified_tail_keeps_a_body_site_the_head_needs():
    assert term_variants("Fistula, unspecified joint") == ["Fistula joint"]
    assert term_variants("Pneumonia, unspecified organism") == ["Pneumonia"]
    assert term_variants("Fracture of shaft of humerus, unspecified arm") == [
        "Fracture of shaft of humerus"
    ]


def test_a_procedure_as_the_cause_of_a_complication_keeps_its_cause(term_index: TermIndex):
    # Y83.9/Y84.9 name a procedure as the cause of an abnormal reaction: the tail is the meaning.
    title = (
        "Surgical procedure, unspecified as the cause of abnormal reaction of the patient, or of "
        "later complication, without mention of misadventure at the time of the procedure"
    )
    assert "Surgical procedure" not in term_variants(title)
    assert not [c for c in term_index.lookup("a second surgical procedure") if c.code == "Y83.9"]


def test_without_foreign_body_keeps_the_injury_site():
    # The site follows the qualifier; dropping "without ..." to the end left only "Laceration",
    # so any laceration read as the first site in code order (the eyelid, S01.11).
    assert term_variants("Laceration without foreign body of scalp") == ["Laceration of scalp"]
    assert term_variants("Puncture wound without foreign body, left hand, initial encounter") == [
        "Puncture wound, left hand, initial encounter"
    ]
    # Other "without" qualifiers read both ways; the full title is the more specific match.
    assert term_variants("Concussion without loss of consciousness") == [
        "Concussion",
        "Concussion without loss of consciousness",
    ]


def test_a_head_of_two_conditions_joined_by_and_reads_each_alone(term_index: TermIndex):
    # Section I.A.14: "and" in a title means "and/or".
    assert term_variants("Stricture and stenosis of cervix uteri") == [
        "Stricture and stenosis of cervix uteri",
        "Stricture of cervix uteri",
        "stenosis of cervix uteri",
    ]
    assert "Acute thrombosis of left popliteal vein" in term_variants(
        "Acute embolism and thrombosis of left popliteal vein"
    )
    # Two together are the code's meaning after "with" or a preposition, and without "of".
    for title in (
        "Postthrombotic syndrome with ulcer and inflammation of right lower extremity",
        "Fracture of head and neck of femur",
        "Acute and chronic respiratory failure",
    ):
        assert term_variants(title) == [title]
    assert _top(term_index, "left vertebral artery stenosis") == "I65.02"
    assert _top(term_index, "infarction of the right kidney") == "N28.0"


def test_a_manifestation_title_is_no_term_of_its_own(term_index: TermIndex):
    # Section I.A.13: "Otitis media in diseases classified elsewhere, left ear" (H67.2) is coded
    # beside its etiology only; "otitis media, left ear" is H66.92.
    assert "H67.2" not in {c.code for c in term_index.lookup("otitis media, left ear")}
    assert "G63" not in {c.code for c in term_index.lookup("polyneuropathy")}
    # With a disease named beside it, the manifestation reads.
    assert "F02.80" in {c.code for c in term_index.lookup("dementia in Parkinson disease")}
    # A factor is no manifestation: wandering with dementia is Z91.83.
    assert _top(term_index, "wandering") == "Z91.83"


def test_a_terms_own_without_does_not_negate_it(term_index: TermIndex):
    doc = text_document(
        "ASSESSMENT: Concussion without loss of consciousness. No rash or malignancy.\n", "d1"
    )
    mentions = find_mentions(MentionsInput(document=doc), term_index).mentions
    by_text = {m.text.lower(): m for m in mentions}
    concussion = by_text["concussion without loss of consciousness"]
    assert concussion.assertion == "present"
    assert concussion.codes[0].startswith("S06.0X0")
    assert all(m.assertion == "negated" for m in mentions if m.text.lower() == "rash")


@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("scalp laceration", "S01.01"),
        ("asthma", "J45.909"),  # "Asthma NOS", not the category J45
        ("ascites", "R18.8"),  # the Index's reading, not the non-billable R18
        ("cataract", "H26.9"),  # not "Cataract in diseases classified elsewhere"
        ("adenopathies", "R59.9"),
        ("axillary lymphadenopathy", "R59.0"),
        ("weight loss", "R63.4"),
        ("gastrointestinal bleeding", "K92.2"),
        ("pale skin and mucous membranes", "R23.1"),
        ("metastases in the liver", "C78.7"),
    ],
)
def test_readings(term_index: TermIndex, phrase: str, code: str):
    assert _top(term_index, phrase) == code


def test_single_words_that_only_mean_a_code_under_their_heading(term_index: TermIndex):
    for word in ("axis", "arrest", "standing", "light", "activity"):
        assert not [
            c
            for c in term_index.lookup(word)
            if c.code.startswith(("S12", "Z65", "X50", "W89", "Y93"))
        ], word


def test_a_term_does_not_gather_words_from_different_list_items(term_index: TermIndex):
    text = "History of obstructive pulmonary disease, hypertension and hypercholesterolemia."
    codes = {
        c.code
        for m in term_index.match_words(term_index.normalizer.words(text), text=text)
        for c in m.candidates[:1]
    }
    assert "I10" in codes and "I27.20" not in codes
    text = "Chronic kidney disease, stage 3"
    assert _top(term_index, text) in {"N18.30", "N18.3"}


def test_a_vague_neoplasm_refers_back_to_the_one_named(term_index: TermIndex):
    doc = text_document("Renal cell carcinoma of the right kidney. The tumor measured 7 cm.", "d1")
    mentions = find_mentions(MentionsInput(document=doc), term_index).mentions
    by_text = {m.text.lower(): m for m in mentions}
    assert by_text["tumor"].codes == [by_text["renal cell carcinoma"].codes[0]]
    alone = find_mentions(
        MentionsInput(document=text_document("A tumor was seen.", "d2")), term_index
    )
    assert alone.mentions[0].codes[0] in {"D49", "D49.9"}  # D49.9 once made billable


def test_tabular_neighbours_follow_the_term_candidates(term_index: TermIndex):
    doc = text_document("Generalized lymphadenopathy.", "d1")
    m = find_mentions(MentionsInput(document=doc), term_index).mentions[0]
    origins = [c.origin for c in m.candidates]
    assert origins[0] != "hierarchy" and "hierarchy" in origins
    first_neighbour = origins.index("hierarchy")
    assert all(o == "hierarchy" for o in origins[first_neighbour:])
    assert {"R59.0", "R59.9"} <= {c.code for c in m.candidates}


def test_numbers_between_a_terms_words_count_its_parts_not_other_items(term_index: TermIndex):
    # "9th and 10th" number the ribs; "and" there joins no other condition.
    assert _top(term_index, "fractures of the 9th and 10th ribs") == "S22.39"
    assert _top(term_index, "fractures of the left 5th and 6th ribs") == "S22.32"
    text = "History of obstructive pulmonary disease, 2 hypertension"
    codes = {
        c.code
        for m in term_index.match_words(term_index.normalizer.words(text), text=text)
        for c in m.candidates[:1]
    }
    assert "I27.20" not in codes


@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("stones from left kidney lithiasis", "N20.0"),  # Lithiasis - see Calculus, kidney
        ("marked abdominal distention", "R14.0"),  # Distension, distention, abdomen
        ("brisk hyperreflexia", "R29.2"),
        ("diffuse areflexia", "R29.2"),
        ("a common cold last week", "J00"),
        ("chronic catarrh", "J00"),
        ("febrile respiratory tract infection", "J98.8"),  # Infection, respiratory NEC
        ("lower respiratory tract infection", "J22"),
        ("upper respiratory tract infection", "J06.9"),
        ("marked leucocytosis", "D72.829"),  # British spelling of Leukocytosis
        # Loss, vision: left / right (normal vision on the other side) / both eyes.
        ("gradual loss of vision affecting the left eye", "H54.62"),
        ("decreased visual acuity of his right eye", "H54.61"),
        ("bilateral loss of vision since the surgery", "H54.3"),
        ("a flat lesion at the bladder neck", "N32.9"),  # Lesion, bladder
        ("ulcerated lesion of the penis", "N48.9"),  # Lesion, penis
        ("painful oral lesions", "K13.79"),  # Lesion, mouth
        ("recurrent urinary infections", "N39.0"),  # Infection, urinary (tract)
        ("nocturia with urinary urgency", "R39.15"),  # Urgency, urinary
        # Leukemia by cell type, never the unspecified-cell "acute" / "chronic" leukemia.
        ("relapsed acute myeloid leukemia", "C92.00"),
        ("known chronic myelogenous leukemia", "C92.10"),
        ("untreated chronic lymphocytic leukemia", "C91.10"),
        ("an episode compatible with transient ischemic attack", "G45.9"),
        ("severe mitral regurgitation", "I34.0"),
        ("moderate aortic insufficiency", "I35.1"),
        ("thrombosis in the left renal vein", "I82.3"),
        ("coagulopathy on admission labs", "D68.9"),
        ("intermittent incontinence at night", "R32"),  # Incontinence R32
        ("incontinence of feces since the operation", "R15.9"),
        ("longstanding secondary hyperparathyroidism", "N25.81"),  # secondary (renal)
        # Hernia, incarcerated / strangulated: see Hernia, by site, with obstruction.
        ("an incarcerated left inguinal hernia", "K40.30"),
        ("a strangulated femoral hernia", "K41.30"),
        ("bilateral undescended testes with cryptorchidism", "Q53.9"),
        ("iatrogenic cushing syndrome", "E24.9"),
        ("adrenal insufficiency after steroid withdrawal", "E27.40"),
        ("herpetic encephalitis", "B00.4"),
        ("septic arthritis of the hip", "M00.9"),  # Arthritis, septic - see pyogenic
        ("recurrent pericarditis", "I31.9"),  # Pericarditis I31.9 (acute I30.9)
        ("calcified aortic stenosis", "I35.0"),
        ("rheumatic mitral stenosis", "I05.0"),
        ("type B aortic dissection", "I71.00"),
        ("smoker's bronchitis", "J40"),  # Bronchitis J40 (acute J20.9, chronic J42)
        ("chronic bronchitis for years", "J42"),
        ("hemolytic anemia of unclear cause", "D59.9"),
        ("marked hypernatremia", "E87.0"),
        ("right palpebral ptosis", "H02.401"),  # the side chooses within H02.40-
        ("persistent hyperphosphatemia", "E83.39"),
        ("severe hypertriglyceridemia", "E78.1"),
        ("dark urine with choluria", "R82.2"),
        ("intercostal neuralgia", "M79.2"),  # Neuralgia M79.2
        ("postherpetic neuralgia of the flank", "B02.29"),
        ("perianal condylomata", "A63.0"),
        ("angiodysplasia of the cecum", "K55.20"),
        ("gastric angiodysplasia seen at endoscopy", "K31.819"),
        ("painful odynophagia", "R13.10"),
        ("postprandial pyrosis", "R12"),
        ("rectal tenesmus", "R19.8"),
        ("fresh hematochezia", "K92.1"),  # Hematochezia - see also Melena
        ("burning dysesthesia of both feet", "R20.8"),
        ("metallic dysgeusia", "R43.2"),
        ("generalized anasarca", "R60.1"),
        ("progressive hypoacusis", "H91.90"),
        ("hypoaesthesia of the chin", "R20.1"),  # British spelling of Hypoesthesia
        ("scalp folliculitis", "L73.9"),
        ("a left perinephric abscess", "N15.1"),  # Abscess, kidney / perirenal
        ("bilateral psoas abscess", "K68.12"),
        ("right hydroureteronephrosis", "N13.30"),
        ("ureteral stricture with hydronephrosis", "N13.1"),
        ("a high-output enterocutaneous fistula", "K63.2"),
        ("long-segment barrett esophagus", "K22.70"),
        ("lymphangitis after a cat scratch", "L03.91"),  # Lymphangitis (acute); chronic I89.1
        ("concentric left ventricular hypertrophy", "I51.7"),
        ("granulomatous iritis", "H20.9"),  # Iritis H20.9
        ("a full-thickness macular hole", "H35.349"),
        ("an epiretinal membrane on OCT", "H35.379"),
        ("dense corneal opacity", "H17.9"),  # Opacity, cornea H17.9
        ("orbital cellulitis after sinusitis", "H05.019"),
        ("bilateral obstructive uropathy", "N13.9"),  # Uropathy, obstructive N13.9
        ("a mild diffuse gastropathy", "K31.9"),
        ("portal hypertensive gastropathy", "K31.89"),
        ("plantar hyperkeratosis", "L85.9"),
        ("conjunctival chemosis", "H11.429"),  # Chemosis - see Edema, conjunctiva
        # Tumour types read through the Neoplasm Table by site and behaviour.
        ("a seminoma in the right testicle", "C62.91"),  # Seminoma, specified site
        ("leiomyosarcoma of the prostate", "C61"),  # Sarcoma - see Neoplasm, malignant
        ("an osteosarcoma of the femur", "C40.2"),  # Osteosarcoma - see Neoplasm, bone
        ("a glioblastoma of the brain", "C71"),  # the reranker refines to C71.9
        ("a follicular adenoma of the thyroid", "D34"),  # Adenoma - see Neoplasm, benign
        ("a serous cystadenoma of the ovary", "D27"),
        # Trauma with its site: "Trauma - see Injury" by site, not Injury NOS.
        ("blunt facial trauma", "S09.93XA"),
        ("minor head trauma", "S09.90XA"),
        ("a penetrating ocular trauma", "S05.90XA"),
        # Eye hemorrhages: Hemorrhage, retina H35.6-; vitreous H43.1-; not R58.
        ("scattered preretinal hemorrhage", "H35.60"),
        ("a dense intravitreal hemorrhage", "H43.10"),
        # Odontogenic tumours of the jaw: lower jaw D16.5 unless the upper is named.
        ("a unicystic ameloblastoma", "D16.5"),
        ("a compound odontoma", "D16.5"),
        ("a maxillary odontoma", "D16.4"),
    ],
)
def test_case_report_words_the_index_reads(term_index: TermIndex, phrase: str, code: str):
    doc = text_document(f"On examination: {phrase}.", "d1")
    found = find_mentions(MentionsInput(document=doc), term_index).mentions
    assert any(m.candidates and m.candidates[0].code == code for m in found), [
        (m.text, [c.code for c in m.candidates[:2]]) for m in found
    ]
