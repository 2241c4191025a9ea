"""TrustCoder's fields inside REFI-QDA text, code names from paths, positions in stored text.
Plain code: no database."""

from __future__ import annotations

import pytest

from negotiations.interchange.mapping import (
    CodeFields,
    CodeSetFields,
    CodingFields,
    StoredText,
    code_description,
    code_name_from,
    code_set_description,
    coding_description,
    colour_from,
    derive_code_names,
    parse_code_description,
    parse_code_set,
    parse_coding_description,
    parse_parties,
    parties_text,
)
from negotiations.interchange.qdpx import QdaCode
from negotiations.sources.text import normalise_text


@pytest.mark.parametrize(
    ("fields", "memo"),
    [
        (CodingFields("against", "US", "hoop"), "Late fuel; see p. 3.\n\nSecond paragraph"),
        (CodingFields("for", "DPRK"), ""),
        (CodingFields("for", "KEDO", "smoking_gun"), "[TrustCoder] looks like a line\\n"),
    ],
)
def test_coding_line_round_trips(fields, memo):
    text = coding_description(fields, memo)
    assert text.splitlines()[0].startswith("[TrustCoder] stance: ")
    assert parse_coding_description(text) == (fields, memo)


def test_another_tools_memo_is_kept_whole():
    assert parse_coding_description("Just a memo") == (None, "Just a memo")
    assert parse_coding_description(None) == (None, "")
    assert parse_coding_description("[TrustCoder] label: x") == (None, "[TrustCoder] label: x")


def test_code_description_round_trips_with_guidance():
    fields = CodeFields(
        label="Follow-through; able",
        definition="Able to deliver.\n\nAlso legally.",
        when_to_use="Funds voted.",
        when_not_to_use="Could but won't.",
        example='"The shipment waits."',
        key="2",
    )
    text = code_description(fields)
    assert text.startswith("Able to deliver.")
    assert parse_code_description(text)[0] == fields
    assert parse_code_description("Evidence of trust")[0] is None


def test_code_set_and_parties_round_trip():
    fields = CodeSetFields("assumptions", "Five assumptions", "reflecting", "countering", False)
    code = QdaCode(guid="g", name="Five assumptions", description=code_set_description(fields))
    assert parse_code_set(code) == fields
    parties = [("US", "United States"), ("DPRK", "Democratic People's Republic; Korea")]
    assert parse_parties(parties_text(parties)) == parties


def test_code_names_from_paths_are_unique_and_valid():
    codes = [
        QdaCode("a", "Coke"),
        QdaCode("b", "diet Coke", parent_guid="a"),
        QdaCode("c", "Coke diet"),
        QdaCode("d", "1. Oltás típusa"),
        QdaCode("e", "coke_diet_coke"),
    ]
    names = derive_code_names(codes, taken={"COKE"})
    assert names["a"] == "COKE_2"
    assert names["b"] == "COKE_DIET_COKE"
    assert names["e"] == "COKE_DIET_COKE_2"
    assert names["d"] == "C_1_OLTAS_TIPUSA"
    assert len(set(names.values())) == len(codes)
    assert len(code_name_from("x" * 300)) == 60


def test_colours():
    assert colour_from("#F00") == "#FF0000"
    assert colour_from("#AADAF4") == "#AADAF4"
    assert colour_from("red") is None


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "  \n\tleading and trailing  \n",
        "\x07bell\x0cform feed\u2028line sep",
        "a\x01\u0301b",  # removing a control character brings an accent to its letter
        "\n\n",
    ],
)
def test_stored_text_is_what_trustcoder_stores_and_positions_follow(text):
    stored = StoredText(text)
    assert stored.text == normalise_text(text)
    for start in range(len(text) + 1):
        for end in range(start, len(text) + 1):
            a, b = stored.span(start, end)
            assert 0 <= a <= len(stored.text) and 0 <= b <= len(stored.text)
    lead = len(text) - len(text.lstrip())
    if stored.text and "\x01" not in text:
        word = stored.text.split()[0]
        i = text.index(word[:1], lead)
        assert stored.text[slice(*stored.span(i, i + len(word)))] == word
