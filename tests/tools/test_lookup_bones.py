"""A named bone's fracture where the Tabular titles the bone by its part or region: "distal" and
"proximal" read as the Tabular's "lower end" and "upper end", a malleolar fracture's "lower leg"
as the ankle, "metacarpal bone, right hand" as the right metacarpal, and a bone named with no part takes the Alphabetic Index's default code (Fracture,
radius S52.9-; scaphoid (hand) S62.00-)."""

from __future__ import annotations

import pytest

from tools.lookup import TermIndex, term_variants


def _top(index: TermIndex, phrase: str) -> str | None:
    found = index.lookup(phrase)
    return found[0].code if found else None


def test_a_bone_end_title_also_reads_distal_or_proximal():
    assert "Unspecified fracture of upper end of left humerus" in term_variants(
        "Unspecified fracture of upper end of left humerus"
    )
    assert "Unspecified fracture of proximal left humerus" in term_variants(
        "Unspecified fracture of upper end of left humerus"
    )
    assert term_variants("Fracture of shaft of right radius") == [
        "Fracture of shaft of right radius"
    ]


@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("distal radius fracture on the left", "S52.502"),
        ("left distal radial fracture", "S52.502"),
        ("proximal humerus fracture, right arm", "S42.201"),
        ("distal femur fracture of the left leg", "S72.402"),
        ("fracture through the right distal tibia", "S82.301"),
        ("distal ulna fracture on the right", "S52.601"),
        # no part named: the Index's default for the bone, side and encounter filled in later
        ("radius fracture after a fall", "S52.90"),
        ("scaphoid fracture", "S62.009"),
        ("fibula fracture", "S82.409"),
        # the Tabular's malleolar titles say "lower leg" where charts say "ankle"
        ("nondisplaced bimalleolar fracture of the right ankle", "S82.844"),
        ("left ankle trimalleolar fracture, displaced", "S82.852"),
        # the Tabular's "... metacarpal bone, right hand" as charts name the bone
        ("fracture of the left fourth metacarpal", "S62.305"),
        ("nondisplaced fracture of the shaft of the right 2nd metacarpal", "S62.350"),
        ("displaced fracture of right fifth metatarsal", "S92.351"),
        # a named part still wins
        ("fracture of the shaft of the left radius", "S52.302"),
    ],
)
def test_named_bone_fractures(term_index: TermIndex, phrase: str, code: str):
    assert _top(term_index, phrase) == code


def test_the_foot_navicular_is_not_read_as_the_wrist(term_index: TermIndex):
    assert _top(term_index, "fracture of navicular of the right foot") not in (None, "S62.009")
