"""Tests of the pure REFI-QDA module: offsets, fixtures in each writer's convention, round trips,
schemas, real samples and hostile input. No database."""

from __future__ import annotations

import bisect
import io
import os
import re
import struct
import unicodedata
import uuid
import zipfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring as parse_xml

from negotiations.interchange.qdpx import (
    CODE_POINTS,
    CODE_POINTS_CRLF_ONE,
    UTF16,
    PositionError,
    QdaCase,
    QdaCode,
    QdaProject,
    QdaSelection,
    QdaSource,
    QdaUser,
    QdpxError,
    TextMap,
    codepoint_to_utf16,
    normalize_text,
    read_project,
    read_qdc,
    read_qde,
    read_qdpx,
    utf16_to_codepoint,
    write_qdc,
    write_qdpx,
)
from tests.interchange.shared import SHARED_MISSING, shared_qdpx

SHARED = shared_qdpx()
needs_shared = pytest.mark.skipif(SHARED is None, reason=SHARED_MISSING)
NS = "{urn:QDA-XML:project:1.0}"


def g(n: int) -> str:
    """A readable fixture GUID."""
    return f"00000000-0000-4000-8000-{n:012d}"


def make_qdpx(qde: str, files: dict[str, bytes], folder: str = "sources") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", qde.encode("utf-8"))
        for name, data in files.items():
            archive.writestr(f"{folder}/{name}", data)
    return buffer.getvalue()


def quotes(project: QdaProject) -> dict[str, str]:
    texts = {s.guid: s.text for s in project.sources}
    return {s.guid: texts[s.source_guid][s.start : s.end] for s in project.selections}


def utf16_span(raw: str, passage: str) -> tuple[int, int]:
    """Where a UTF-16 writer puts `passage` in `raw`, counted by the codec, not by qdpx."""
    i = raw.index(passage)
    start = len(raw[:i].encode("utf-16-le")) // 2
    return start, start + len(passage.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# Offset helpers
# --------------------------------------------------------------------------------------------


def test_codepoint_and_utf16_offsets_convert_both_ways() -> None:
    text = "a😀b中𠀋c"  # 😀 and 𠀋 lie outside the BMP; 中 does not
    units = [0, 1, 3, 4, 5, 7, 8]
    assert [codepoint_to_utf16(text, i) for i in range(len(text) + 1)] == units
    assert [utf16_to_codepoint(text, u) for u in units] == list(range(len(text) + 1))


@pytest.mark.parametrize("offset", [2, 6])
def test_utf16_offset_inside_a_surrogate_pair_is_refused(offset: int) -> None:
    with pytest.raises(PositionError, match="surrogate pair"):
        utf16_to_codepoint("a😀b中𠀋c", offset)


def test_offsets_outside_the_text_are_refused() -> None:
    with pytest.raises(PositionError):
        codepoint_to_utf16("abc", 4)
    with pytest.raises(PositionError):
        utf16_to_codepoint("a😀", 4)
    with pytest.raises(PositionError):
        TextMap.build("abc").to_normalized(-1)


def test_normalize_text_drops_bom_unifies_line_endings_and_composes() -> None:
    assert normalize_text("\ufeffa\r\nb\rc\nCafe\u0301") == "a\nb\nc\nCafé"


def test_text_map_code_points_with_bom_crlf_lone_cr_and_combining_accent() -> None:
    # raw after the BOM: A \r \n B \r C e ◌́ D  (positions 0..9)
    # normalised:        A \n B \n C é D        (positions 0..7)
    text_map = TextMap.build("\ufeffA\r\nB\rCe\u0301D", CODE_POINTS)
    assert text_map.text == "A\nB\nCéD"
    assert text_map.length == 9
    starts = [text_map.to_normalized(p) for p in range(10)]
    ends = [text_map.to_normalized(p, end=True) for p in range(10)]
    assert starts == [0, 1, 1, 2, 3, 4, 5, 5, 6, 7]
    assert ends == [0, 1, 2, 2, 3, 4, 5, 6, 6, 7]
    assert not text_map.fits(2)  # between CR and LF
    assert text_map.fits(7)  # between e and its accent: a writer may well count there


def test_text_map_crlf_counted_as_one() -> None:
    # A CRLF B CR C e ◌́ D: the CRLF is one unit, everything else one per code point
    text_map = TextMap.build("A\r\nB\rCe\u0301D", CODE_POINTS_CRLF_ONE)
    assert text_map.length == 8
    assert [text_map.to_normalized(p) for p in range(9)] == [0, 1, 2, 3, 4, 5, 5, 6, 7]


def test_text_map_bom_counted() -> None:
    text_map = TextMap.build("\ufeffAB", CODE_POINTS, bom_counted=True)
    assert text_map.length == 3
    assert [text_map.to_normalized(p) for p in range(4)] == [0, 0, 1, 2]


def test_text_map_utf16_with_crlf() -> None:
    # units: 😀 0-1, a 2, CR 3, LF 4, 中 5, 𠀋 6-7, b 8, end 9
    text_map = TextMap.build("😀a\r\n中𠀋b", UTF16)
    assert text_map.text == "😀a\n中𠀋b"
    assert text_map.length == 9
    assert [text_map.to_normalized(p) for p in (0, 2, 3, 5, 6, 8, 9)] == [0, 1, 2, 3, 4, 5, 6]
    assert [text_map.fits(p) for p in (1, 4, 7)] == [False, False, False]
    assert text_map.splits_character(7) and not text_map.splits_character(4)


def test_text_map_handles_nfc_that_grows_and_hangul_jamo() -> None:
    # U+0958 is excluded from composition, so NFC turns it into two code points;
    # conjoining jamo compose into one syllable.
    raw = "x\u0958y\u1100\u1161\u11a8z"
    text_map = TextMap.build(raw)
    assert text_map.text == unicodedata.normalize("NFC", raw) == "x\u0915\u093cy각z"
    assert [text_map.to_normalized(p) for p in (0, 1, 2, 3, 6, 7)] == [0, 1, 3, 4, 5, 6]
    assert text_map.to_normalized(4) == 4 and text_map.to_normalized(4, end=True) == 5


def test_text_map_agrees_with_normalising_prefixes() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    strategies = pytest.importorskip("hypothesis.strategies")
    pieces = ["a", "b", " ", "\r", "\n", "\r\n", "😀", "中", "𠀋", "e\u0301", "\u0301", "\u0323"]
    pieces += ["\u1100", "\u1161", "\u11a8", "\u212b", "\u0958", "\ufeff"]

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(strategies.lists(strategies.sampled_from(pieces), max_size=30))
    def check(parts: list[str]) -> None:
        raw = "".join(parts)
        text_map = TextMap.build(raw)
        body = raw.removeprefix("\ufeff")
        assert text_map.text == normalize_text(raw)
        previous = 0
        for p in range(len(body) + 1):
            start, end = text_map.to_normalized(p), text_map.to_normalized(p, end=True)
            assert previous <= start <= end
            previous = start
            if body[p - 1 : p + 1] == "\r\n":
                continue
            prefix = normalize_text(body[:p])
            if prefix + normalize_text(body[p:]) == text_map.text:
                assert start <= len(prefix) <= end
        assert text_map.to_normalized(len(body)) == len(text_map.text)

    check()


def test_text_map_utf16_inverts_codepoint_to_utf16() -> None:
    text = "Pré 😀 中 𠀋 👨\u200d👩\u200d👧 end"
    text_map = TextMap.build(text, UTF16)
    assert [text_map.to_normalized(codepoint_to_utf16(text, i)) for i in range(len(text) + 1)] == (
        list(range(len(text) + 1))
    )


# --------------------------------------------------------------------------------------------
# Fixture in NVivo's convention: UTF-16 units, CRLF as two, BOM, emoji and CJK
# --------------------------------------------------------------------------------------------

NVIVO_LINES = [
    "Interview 1",
    "Q: How did the talks go? 😀 Fine 👨\u200d👩\u200d👧 really.",
    "中文 and 𠀋 before the passage.",
    "A: The agreed framework held until the fuel deliveries stopped.",
]
NVIVO_RAW = "\r\n".join(NVIVO_LINES) + "\r\n"
NVIVO_PASSAGES = {
    g(101): "agreed framework",
    g(102): "👨\u200d👩\u200d👧",
    g(103): "before the passage.\r\nA: The",
    g(104): "fuel deliveries stopped.",
}


def nvivo_project(origin: str = "NVivo for Windows 12.6") -> bytes:
    selections = []
    for n, (coding, passage) in enumerate(NVIVO_PASSAGES.items()):
        start, end = utf16_span(NVIVO_RAW, passage)
        code = g(11) if n % 2 else g(12)
        selections.append(
            f'<PlainTextSelection guid="{g(200 + n)}" name="" startPosition="{start}" '
            f'endPosition="{end}" creatingUser="{g(1)}" creationDateTime="2025-06-18T02:08:15Z">'
            f'<Description /><Coding guid="{coding}" creatingUser="{g(2)}" '
            f'creationDateTime="2025-06-18T02:06:50Z"><CodeRef targetGUID="{code}"/></Coding>'
            + (f'<NoteRef targetGUID="{g(301)}"/>' if n == 3 else "")
            + "</PlainTextSelection>"
        )
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Talks" origin="{origin}"
         creatingUserGUID="{g(1)}">
  <Users><User guid="{g(1)}" name="Ana"/><User guid="{g(2)}" name="Ben"/></Users>
  <CodeBook><Codes>
    <Code guid="{g(10)}" name="Trust" isCodable="true">
      <Description>Evidence of trust</Description>
      <Code guid="{g(11)}" name="Capacity" isCodable="true"/>
      <Code guid="{g(12)}" name="Intention" isCodable="true"/>
    </Code>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="{g(50)}" name="Interview 1" plainTextPath="internal://{g(50)}.txt"
                richTextPath="internal://{g(50)}.docx">{"".join(selections)}</TextSource>
  </Sources>
  <Notes>
    <Note guid="{g(300)}" name="On the framework">
      <PlainTextContent>Linked memo</PlainTextContent></Note>
    <Note guid="{g(301)}" name="On fuel"><PlainTextContent>Referenced memo</PlainTextContent></Note>
  </Notes>
  <Links><Link guid="{g(310)}" originGUID="{g(300)}" targetGUID="{g(200)}"/></Links>
  <Description />
</Project>"""
    text = b"\xef\xbb\xbf" + NVIVO_RAW.encode("utf-8")
    # NVivo 12 for Windows names the folder with a capital S.
    return make_qdpx(qde, {f"{g(50)}.txt": text, f"{g(50)}.docx": b"PK"}, folder="Sources")


def test_nvivo_fixture_positions_are_read_as_utf16_with_crlf_as_two() -> None:
    project = read_qdpx(nvivo_project())
    assert project.position_convention == UTF16.label
    assert project.warnings == ()
    assert project.sources[0].text == normalize_text(NVIVO_RAW)
    assert quotes(project) == {k: normalize_text(v) for k, v in NVIVO_PASSAGES.items()}
    first = next(s for s in project.selections if s.guid == g(101))
    # NVivo wrote 102-118: five extra units for 😀, the three astral code points of the family
    # emoji and 𠀋, on top of 3 CRLFs that become one "\n" each.
    assert utf16_span(NVIVO_RAW, "agreed framework") == (102, 118)
    assert (first.start, first.end) == (94, 110)


def test_nvivo_fixture_users_codes_and_memos() -> None:
    project = read_qdpx(nvivo_project())
    assert project.users == (QdaUser(g(1), "Ana"), QdaUser(g(2), "Ben"))
    assert [(c.name, c.parent_guid, c.description) for c in project.codes] == [
        ("Trust", None, "Evidence of trust"),
        ("Capacity", g(10), ""),
        ("Intention", g(10), ""),
    ]
    by_guid = {s.guid: s for s in project.selections}
    assert by_guid[g(101)].memo == "Linked memo"
    assert by_guid[g(104)].memo == "Referenced memo"
    assert by_guid[g(102)].memo is None
    assert by_guid[g(101)].user_guid == g(2)  # the Coding's creator, not the selection's
    assert by_guid[g(101)].created == datetime(2025, 6, 18, 2, 6, 50, tzinfo=UTC)


def test_unknown_writer_with_utf16_positions_is_recognised_from_the_text() -> None:
    project = read_qdpx(nvivo_project(origin="Acme QDA 2.0"))
    assert project.position_convention == UTF16.label
    assert quotes(project) == {k: normalize_text(v) for k, v in NVIVO_PASSAGES.items()}
    assert any("UTF-16" in w and "Acme QDA 2.0" in w for w in project.warnings)


def test_evidence_overrules_an_origin_whose_convention_does_not_fit() -> None:
    raw = "😀😀 abc def"
    qde = f"""<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="NVivo for Mac 15.0.0">
  <CodeBook><Codes><Code guid="{g(10)}" name="c" isCodable="true"/></Codes></CodeBook>
  <Sources><TextSource guid="{g(50)}" name="s" plainTextPath="internal://s.txt">
    <PlainTextSelection guid="{g(60)}" startPosition="1" endPosition="6">
      <Coding guid="{g(61)}"><CodeRef targetGUID="{g(10)}"/></Coding></PlainTextSelection>
    <PlainTextSelection guid="{g(62)}" startPosition="3" endPosition="6">
      <Coding guid="{g(63)}"><CodeRef targetGUID="{g(10)}"/></Coding></PlainTextSelection>
  </TextSource></Sources></Project>"""
    project = read_qdpx(make_qdpx(qde, {"s.txt": raw.encode()}))
    assert project.position_convention == CODE_POINTS.label
    assert quotes(project) == {g(61): "😀 abc", g(63): "abc"}
    assert any("fit the texts better" in w for w in project.warnings)


# --------------------------------------------------------------------------------------------
# Fixture in ATLAS.ti's convention: code points, CRLF as one, quotes in selection names
# --------------------------------------------------------------------------------------------

ATLAS_RAW = "\ufeffMabel on breakfast\r\nCafe\u0301 au lait, then cola.\r\n\r\nNo milk 😀 at all."


def atlas_qde() -> bytes:
    body = ATLAS_RAW.removeprefix("\ufeff").replace("\r\n", "\n")

    def span(passage: str) -> str:
        i = body.index(passage)
        return f'startPosition="{i}" endPosition="{i + len(passage)}"'

    return f"""<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<Project xmlns="urn:QDA-XML:project:1.0" origin="ATLAS.ti 9.1.3 (Windows)" name="Breakfast">
  <Users><User guid="{g(1).upper()}" name="Friedrich"/></Users>
  <CodeBook><Codes>
    <Code color="#966450" isCodable="true" name="Coke::diet Coke" guid="{g(12).upper()}">
      <Description>non sucré</Description></Code>
    <Code color="#966450" isCodable="true" name="Coke" guid="{g(11).upper()}"/>
    <Code color="#F00" isCodable="true" name="drinks" guid="{g(13).upper()}"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource plainTextPath="internal://A.txt" guid="{g(50).upper()}" name="Mabel.txt">
      <PlainTextSelection {span("Cafe\u0301 au lait")} guid="{g(60).upper()}"
          creatingUser="{g(1).upper()}" name="Café au lait">
        <Description>Coffee, not cola</Description>
        <Coding guid="{g(61).upper()}"><CodeRef targetGUID="{g(13).upper()}"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection {span("then cola.\n\nNo milk 😀")} guid="{g(62).upper()}"
          name="then cola. No milk…">
        <Coding guid="{g(63).upper()}"><CodeRef targetGUID="{g(12).upper()}"/></Coding>
        <Coding guid="{g(64).upper()}"><CodeRef targetGUID="{g(13).upper()}"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection {span("at all")} guid="{g(65).upper()}" name="at all">
        <Description>A memo without a code</Description>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>""".encode()


def test_atlas_fixture_positions_count_crlf_as_one_over_non_nfc_text() -> None:
    project = read_qde(atlas_qde(), {"A.txt": ATLAS_RAW.encode("utf-8")})
    assert project.position_convention == CODE_POINTS_CRLF_ONE.label
    assert quotes(project) == {
        g(61): "Café au lait",
        g(63): "then cola.\n\nNo milk 😀",
        g(64): "then cola.\n\nNo milk 😀",
    }
    assert (
        project.sources[0].text
        == "Mabel on breakfast\nCafé au lait, then cola.\n\nNo milk 😀 at all."
    )


def test_atlas_fixture_hierarchy_memos_and_dropped_selection() -> None:
    project = read_qde(atlas_qde(), {"A.txt": ATLAS_RAW.encode("utf-8")})
    codes = {c.guid: c for c in project.codes}
    assert codes[g(12)].name == "diet Coke"
    assert codes[g(12)].parent_guid == g(11)
    assert codes[g(12)].color == "#966450"
    assert codes[g(13)].color == "#FF0000"
    assert codes[g(12)].description == "non sucré"
    memos = {s.guid: s.memo for s in project.selections}
    assert memos == {g(61): "Coffee, not cola", g(63): None, g(64): None}
    assert any(g(65) in w and "no code" in w for w in project.warnings)
    assert any("Parent::child" in w for w in project.warnings)
    assert project.users == (QdaUser(g(1), "Friedrich"),)


def test_atlas_fixture_without_its_text_reports_the_missing_source() -> None:
    project = read_qde(atlas_qde())
    assert project.sources == () and project.selections == ()
    assert any("'Mabel.txt'" in w and "not in the archive" in w for w in project.warnings)


def test_embedded_text_and_a_memo_given_twice() -> None:
    qde = f"""<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="MAXQDA 2022">
<CodeBook><Codes><Code guid="{g(10)}" name="c" isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="{g(50)}" name="embedded">
<PlainTextContent>Line one
Line two 😀 end</PlainTextContent>
<PlainTextSelection guid="{g(60)}" startPosition="5" endPosition="17">
<Description>Same memo</Description>
<Coding guid="{g(61)}"><CodeRef targetGUID="{g(10)}"/></Coding>
<NoteRef targetGUID="{g(90)}"/></PlainTextSelection>
</TextSource></Sources>
<Notes><Note guid="{g(90)}"><PlainTextContent>Same memo</PlainTextContent></Note></Notes>
</Project>"""
    project = read_qde(qde.encode())
    assert quotes(project) == {g(61): "one\nLine two"}
    assert project.selections[0].memo == "Same memo"
    assert project.warnings == ()


# --------------------------------------------------------------------------------------------
# Fixture in QualCoder's convention: code points, quotes in names, nested codes, variables
# --------------------------------------------------------------------------------------------

QC_TEXT = "Speaker 1: We welcome the 🤝 accord.\nSpeaker 2: Deliveries start in May.\n"


def qualcoder_qdpx(line_ending: str = "\n") -> bytes:
    def selection(n: int, passage: str, code: int, extra: str = "") -> str:
        i = QC_TEXT.index(passage)
        return (
            f'<PlainTextSelection guid="{g(60 + n)}" startPosition="{i}" '
            f'endPosition="{i + len(passage)}" name="{passage}" creatingUser="{g(1)}" '
            f'creationDateTime="2024-03-01T10:00:00Z">{extra}'
            f'<Coding guid="{g(80 + n)}" creatingUser="{g(1)}"><CodeRef targetGUID="{g(code)}"/>'
            + (f'<NoteRef targetGUID="{g(90)}"/>' if n == 1 else "")
            + "</Coding></PlainTextSelection>"
        )

    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Accord" origin="QualCoder 3.6">
<Users><User guid="{g(1)}" name="coder1"/></Users>
<CodeBook><Codes>
  <Code guid="{g(10)}" name="Elements" isCodable="false" color="#112233">
    <Description>The three elements</Description>
    <Code guid="{g(11)}" name="Capacity" isCodable="true" color="#a0b0c0">
      <Description>Able to deliver</Description>
      <Code guid="{g(12)}" name="Fuel" isCodable="true"/>
    </Code>
  </Code>
  <Code guid="{g(13)}" name="Other" isCodable="true"/>
</Codes></CodeBook>
<Variables>
  <Variable guid="{g(20)}" name="speaker" typeOfVariable="Text"/>
  <Variable guid="{g(21)}" name="pages" typeOfVariable="Integer"/>
  <Variable guid="{g(22)}" name="weight" typeOfVariable="Float"/>
  <Variable guid="{g(23)}" name="official" typeOfVariable="Boolean"/>
  <Variable guid="{g(24)}" name="date" typeOfVariable="Date"/>
  <Variable guid="{g(25)}" name="recorded" typeOfVariable="DateTime"/>
  <Variable guid="{g(26)}" name="phase" typeOfVariable="Text"/>
</Variables>
<Cases><Case guid="{g(40)}" name="Agreed Framework">
  <VariableValue><VariableRef targetGUID="{g(26)}"/><TextValue>agreement</TextValue></VariableValue>
  <SourceRef targetGUID="{g(50)}"/>
</Case></Cases>
<Sources><TextSource guid="{g(50)}" name="Statement" plainTextPath="internal://{g(50)}.txt">
  {selection(0, "We welcome the 🤝 accord.", 11, "<Description>Welcome memo</Description>")}
  {selection(1, "Deliveries start in May.", 12)}
  {selection(2, "We welcome the 🤝 accord.\nSpeaker 2", 13)}
  <VariableValue><VariableRef targetGUID="{g(20)}"/><TextValue>Gallucci</TextValue></VariableValue>
  <VariableValue><VariableRef targetGUID="{g(21)}"/><IntegerValue>3</IntegerValue></VariableValue>
  <VariableValue><VariableRef targetGUID="{g(22)}"/><FloatValue>0.75</FloatValue></VariableValue>
  <VariableValue><VariableRef targetGUID="{g(23)}"/>
    <BooleanValue>true</BooleanValue></VariableValue>
  <VariableValue><VariableRef targetGUID="{g(24)}"/>
    <DateValue>1994-10-21</DateValue></VariableValue>
  <VariableValue><VariableRef targetGUID="{g(25)}"/>
    <DateTimeValue>1994-10-21T09:30:00Z</DateTimeValue></VariableValue>
</TextSource></Sources>
<Notes><Note guid="{g(90)}" name="n"><PlainTextContent>Fuel memo</PlainTextContent></Note></Notes>
</Project>"""
    # QualCoder writes its text files with a BOM, and on Windows with CRLF while its positions
    # still count one per line break.
    text = QC_TEXT.replace("\n", line_ending)
    return make_qdpx(qde, {f"{g(50)}.txt": text.encode("utf-8-sig")})


@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
def test_qualcoder_fixture_codes_selections_memos(line_ending: str) -> None:
    project = read_qdpx(qualcoder_qdpx(line_ending))
    assert project.sources[0].text == QC_TEXT
    assert project.warnings == ()
    assert [(c.name, c.parent_guid, c.color, c.is_codable) for c in project.codes] == [
        ("Elements", None, "#112233", False),
        ("Capacity", g(10), "#A0B0C0", True),
        ("Fuel", g(11), None, True),
        ("Other", None, None, True),
    ]
    assert quotes(project) == {
        g(80): "We welcome the 🤝 accord.",
        g(81): "Deliveries start in May.",
        g(82): "We welcome the 🤝 accord.\nSpeaker 2",
    }
    memos = {s.guid: s.memo for s in project.selections}
    assert memos == {g(80): "Welcome memo", g(81): "Fuel memo", g(82): None}


def test_qualcoder_fixture_variables_and_cases() -> None:
    project = read_qdpx(qualcoder_qdpx())
    (source,) = project.sources
    assert source.variables == {
        "speaker": "Gallucci",
        "pages": 3,
        "weight": 0.75,
        "official": True,
        "date": date(1994, 10, 21),
        "recorded": datetime(1994, 10, 21, 9, 30, tzinfo=UTC),
    }
    assert source.case_guids == (g(40),)
    assert project.cases == (QdaCase(g(40), "Agreed Framework", {"phase": "agreement"}),)


# --------------------------------------------------------------------------------------------
# Round trip and schema validity
# --------------------------------------------------------------------------------------------

ROUND_TRIP_TEXT = "Préambule 😀 — 中文 𠀋\nThe parties agree.\n\nFuel deliveries will resume."


def round_trip_project() -> QdaProject:
    text = ROUND_TRIP_TEXT
    emoji = text.index("😀")
    fuel = text.index("Fuel")
    return QdaProject(
        name="Agreed Framework study",
        users=(QdaUser(g(1), "Ana Lima"), QdaUser(g(2), "Bo Chen")),
        # Codes in tree order (parents first, siblings in order), as a reader returns them.
        codes=(
            QdaCode(g(10), "Elements", "#112233", "The three elements", None, False),
            QdaCode(g(11), "Capacity", "#AABBCC", "Able to deliver", g(10)),
            QdaCode(g(13), "Credible signal", "#00FF00", "Costly & <visible>", g(11)),
            QdaCode(g(12), "Intention", None, "", g(10)),
            QdaCode(g(14), "Assumptions", None, "Optional second set"),
        ),
        sources=(
            QdaSource(
                g(50),
                "Joint statement",
                text,
                {
                    "speaker": "Gallucci",
                    "date": date(1994, 10, 21),
                    "pages": 3,
                    "weight": 0.75,
                    "official": True,
                    "recorded": datetime(1994, 10, 21, 9, 30, tzinfo=UTC),
                    "note": None,
                },
                (g(40),),
            ),
            QdaSource(
                g(51),
                "Press briefing",
                "Short text.",
                {
                    "speaker": "Kang",
                    "date": date(1994, 11, 2),
                    "pages": 1,
                    "weight": 1.5,
                    "official": False,
                    "recorded": datetime(1994, 11, 2, 14, 0, tzinfo=UTC),
                },
            ),
        ),
        selections=(
            QdaSelection(
                g(60),
                g(50),
                emoji,
                emoji + 8,
                g(11),
                g(1),
                "Emoji span",
                datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=9))),
            ),
            QdaSelection(g(61), g(50), fuel, len(text), g(12)),
            QdaSelection(
                g(62),
                g(50),
                fuel - 5,
                fuel + 4,
                g(13),
                g(2),
                "Line one\nLine two & <three>",
                datetime(2025, 1, 2, 3, 4, 5, 123456),
            ),
            QdaSelection(g(63), g(51), 0, 11, g(14), g(2)),
        ),
        cases=(QdaCase(g(40), "Agreed Framework", {"phase": "agreement", "year": 1994}),),
    )


def test_round_trip_keeps_everything() -> None:
    original = round_trip_project()
    back = read_qdpx(write_qdpx(original))
    assert back.warnings == ()
    assert back.origin == "TrustCoder"
    assert back.name == original.name
    assert back.users == original.users
    assert back.codes == original.codes
    assert back.sources == original.sources
    assert back.cases == original.cases
    assert sorted(back.selections, key=lambda s: s.guid) == list(original.selections)
    assert quotes(back) == quotes(original)
    assert quotes(back)[g(60)] == "😀 — 中文 𠀋"


def test_round_trip_of_a_real_import_keeps_every_quote() -> None:
    imported = read_qdpx(nvivo_project())
    back = read_qdpx(write_qdpx(imported))
    assert quotes(back) == quotes(imported)
    assert back.codes == imported.codes and back.users == imported.users


def test_writing_is_deterministic_and_texts_are_plain_utf8() -> None:
    data = write_qdpx(round_trip_project())
    assert data == write_qdpx(round_trip_project())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == [
            "project.qde",
            f"sources/{g(50)}.txt",
            f"sources/{g(51)}.txt",
        ]
        assert archive.read(f"sources/{g(50)}.txt") == ROUND_TRIP_TEXT.encode("utf-8")
        root = parse_xml(archive.read("project.qde"))
    assert root.get("origin") == "TrustCoder"
    source = root.find(f"{NS}Sources/{NS}TextSource")
    assert source is not None and source.get("plainTextPath") == f"internal://{g(50)}.txt"


def test_mixed_variable_values_are_written_as_text() -> None:
    project = QdaProject(
        name="p",
        sources=(
            QdaSource(g(50), "a", "x", {"v": 1}),
            QdaSource(g(51), "b", "y", {"v": "one"}),
        ),
    )
    back = read_qdpx(write_qdpx(project))
    assert [s.variables for s in back.sources] == [{"v": "1"}, {"v": "one"}]


def all_guids(root: Element) -> list[str]:
    return [v for el in root.iter() for k, v in el.attrib.items() if k == "guid"]


def test_written_guids_are_unique_valid_and_resolved_even_from_odd_input() -> None:
    project = QdaProject(
        name="odd",
        users=(QdaUser("u-1", "Ana"),),
        codes=(QdaCode("c001", "A"), QdaCode("c002", "B", parent_guid="c001")),
        sources=(QdaSource("c001", "same id as a code", "Text here"),),
        selections=(QdaSelection("s1", "c001", 0, 4, "c002", "u-1"),),
    )
    data = write_qdpx(project)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = parse_xml(archive.read("project.qde"))
    guids = all_guids(root)
    assert len(guids) == len(set(guids))
    assert all(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", x) for x in guids)
    refs = [el.get("targetGUID") for el in root.iter() if el.get("targetGUID")]
    refs += [el.get("creatingUser") for el in root.iter() if el.get("creatingUser")]
    assert set(refs) <= set(guids)
    back = read_qdpx(data)
    assert quotes(back) == {back.selections[0].guid: "Text"}
    assert back.codes[1].parent_guid == back.codes[0].guid


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sources": (QdaSource(g(50), "s", "a\r\nb"),)}, "not normalised"),
        ({"selections": (QdaSelection(g(60), g(50), 0, 99, g(10)),)}, "not a passage"),
        ({"selections": (QdaSelection(g(60), g(50), 0, 1, g(99)),)}, "unknown code"),
        ({"selections": (QdaSelection(g(60), g(50), 0, 1, g(10), g(9)),)}, "unknown user"),
        ({"codes": (QdaCode(g(10), "c", parent_guid=g(11)),)}, "unknown parent"),
        ({"codes": (QdaCode(g(10), "c", color="red"),)}, "RRGGBB"),
        ({"codes": (QdaCode(g(10), "c"), QdaCode(g(10), "d"))}, "GUIDs repeat"),
    ],
)
def test_writer_refuses_inconsistent_projects(change: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "name": "p",
        "codes": (QdaCode(g(10), "c"),),
        "sources": (QdaSource(g(50), "s", "abc"),),
    }
    with pytest.raises(ValueError, match=message):
        write_qdpx(QdaProject(**{**base, **change}))  # type: ignore[arg-type]


@needs_shared
def test_written_project_validates_against_the_project_schema() -> None:
    xmlschema = pytest.importorskip("xmlschema")
    assert SHARED is not None
    schema = xmlschema.XMLSchema(str(SHARED / "Project-mrt2019.xsd"))
    for project in (round_trip_project(), read_qdpx(nvivo_project()), read_qdpx(qualcoder_qdpx())):
        with zipfile.ZipFile(io.BytesIO(write_qdpx(project))) as archive:
            schema.validate(io.BytesIO(archive.read("project.qde")))


@needs_shared
def test_written_codebook_validates_and_reads_back() -> None:
    xmlschema = pytest.importorskip("xmlschema")
    assert SHARED is not None
    codes = round_trip_project().codes
    data = write_qdc(codes)
    xmlschema.XMLSchema(str(SHARED / "Codebook.xsd")).validate(io.BytesIO(data))
    assert read_qdc(data) == codes


# --------------------------------------------------------------------------------------------
# Real files from other tools
# --------------------------------------------------------------------------------------------


def sample(name: str) -> bytes:
    if SHARED is None or not (SHARED / "samples" / name).is_file():
        pytest.skip(f"sample {name} not found under {SHARED or '/work/shared/qdpx'}/samples")
    return (SHARED / "samples" / name).read_bytes()


def raw_selections(qdpx_bytes: bytes) -> dict[str, tuple[str, int, int, str]]:
    """coding guid -> (source guid, startPosition, endPosition, selection name), from the XML."""
    with zipfile.ZipFile(io.BytesIO(qdpx_bytes)) as archive:
        root = parse_xml(archive.read("project.qde"))
    found = {}
    for source in root.iter(f"{NS}TextSource"):
        for selection in source.iter(f"{NS}PlainTextSelection"):
            for coding in selection.iter(f"{NS}Coding"):
                found[str(uuid.UUID(coding.get("guid")))] = (
                    str(uuid.UUID(source.get("guid"))),
                    int(selection.get("startPosition")),
                    int(selection.get("endPosition")),
                    selection.get("name") or "",
                )
    return found


def source_files(qdpx_bytes: bytes) -> dict[str, str]:
    """source guid -> raw text file as NVivo wrote it (BOM removed, CRLF kept)."""
    with zipfile.ZipFile(io.BytesIO(qdpx_bytes)) as archive:
        root = parse_xml(archive.read("project.qde"))
        texts = {}
        for source in root.iter(f"{NS}TextSource"):
            name = source.get("plainTextPath").removeprefix("internal://")
            entry = next(n for n in archive.namelist() if n.lower() == f"sources/{name}".lower())
            texts[str(uuid.UUID(source.get("guid")))] = archive.read(entry).decode("utf-8-sig")
    return texts


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def comment_regions(text: str) -> list[tuple[int, int]]:
    """Spans of the comment-text fields in the NVivo sample's YouTube export.

    After an 8-line header each record is: video id, title, video date, comment id, author,
    comment text (one or more lines), likes, comment date. Each record thus holds exactly two
    timestamp lines, and the comment text runs from three lines after the first to just before
    the likes line that precedes the second.
    """
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    stamps = [i for i, line in enumerate(lines) if TIMESTAMP.fullmatch(line)]
    assert len(stamps) % 2 == 0
    regions = []
    for video_date, comment_date in zip(stamps[::2], stamps[1::2], strict=True):
        # The author line is empty for deleted accounts, so only the likes line is checked.
        assert lines[comment_date - 1].isdigit() and comment_date - video_date >= 5
        regions.append((starts[video_date + 3], starts[comment_date - 1]))
    return regions


def in_one_comment(regions: list[tuple[int, int]], start: int, end: int) -> bool:
    index = bisect.bisect_right(regions, (start, len(regions) and 10**12)) - 1
    return index >= 0 and regions[index][0] <= start < end <= regions[index][1]


def test_nvivo12_sample_counts() -> None:
    project = read_qdpx(sample("nvivo12-win_oltas0517.qdpx"))
    assert project.origin == "NVivo for Windows 12.6"
    assert project.position_convention == UTF16.label
    assert project.warnings == ()
    assert [u.name for u in project.users] == ["Gergo", "floriansipos"]
    assert len(project.codes) == 152
    assert sum(1 for c in project.codes if c.parent_guid is None) < 152
    assert sum(1 for c in project.codes if c.description) > 50
    assert [(s.name, len(s.text)) for s in project.sources] == [
        ("videos_selection", 635_491 - 15_272),
        ("videos_10_selected", 600_490 - 15_273),
    ]
    assert len(project.selections) == 303


def test_nvivo12_sample_quotes_are_what_nvivo_meant() -> None:
    data = sample("nvivo12-win_oltas0517.qdpx")
    project = read_qdpx(data)
    raw = raw_selections(data)
    files = source_files(data)
    texts = {s.guid: s.text for s in project.sources}
    for selection in project.selections:
        source_guid, start, end, _ = raw[selection.guid]
        units = files[source_guid].encode("utf-16-le")
        meant = normalize_text(units[2 * start : 2 * end].decode("utf-16-le"))
        assert texts[source_guid][selection.start : selection.end] == meant


def test_nvivo12_sample_selections_land_on_comments_and_words() -> None:
    """The UTF-16 reading is right: every passage lies inside one comment and nearly every
    end is on a word boundary; read as code points, most passages land elsewhere."""
    data = sample("nvivo12-win_oltas0517.qdpx")
    project = read_qdpx(data)
    texts = {s.guid: s.text for s in project.sources}

    def boundary(text: str, i: int) -> bool:
        return i in (0, len(text)) or not (text[i - 1].isalnum() and text[i].isalnum())

    regions = {guid: comment_regions(text) for guid, text in texts.items()}
    spans = [(texts[s.source_guid], s.start, s.end) for s in project.selections]
    assert all(in_one_comment(regions[s.source_guid], s.start, s.end) for s in project.selections)
    on_words = sum(boundary(t, a) and boundary(t, b) for t, a, b in spans)
    # Three passages were cut mid-word by the coders themselves (e.g. "...A|KI IGEN").
    assert on_words >= 300

    raw = raw_selections(data)
    files = source_files(data)
    as_code_points = {guid: TextMap.build(text, CODE_POINTS) for guid, text in files.items()}
    naive = 0
    for selection in project.selections:
        source_guid, start, end, _ = raw[selection.guid]
        text_map = as_code_points[source_guid]
        naive += in_one_comment(
            regions[source_guid],
            text_map.to_normalized(start),
            text_map.to_normalized(end, end=True),
        )
    assert naive < 100


def test_nvivo15_mac_sample() -> None:
    project = read_qdpx(sample("nvivo15-mac_qc-project.qdpx"))
    assert project.warnings == ()
    assert [u.name for u in project.users] == ["chrisp", "cp"]
    assert len(project.codes) == 262
    names = Counter(c.name for c in project.codes)
    assert sum(1 for count in names.values() if count > 1) == 9  # in different branches
    assert [s.text for s in project.sources] == ["\n", "\n"]
    assert project.selections == ()


def test_qc_sample_codings_cover_the_lines_they_name() -> None:
    data = sample("qc-1.3.2_demo.qdpx")
    project = read_qdpx(data)
    assert len(project.codes) == 262
    assert [s.name for s in project.sources] == ["board_2017.txt", "admin-1.txt"]
    assert len(project.selections) == 205
    assert len({(s.source_guid, s.start, s.end) for s in project.selections}) == 158
    assert all("without internal://" in w for w in project.warnings)
    codes = {c.guid: c for c in project.codes}
    chain = []
    code = next(c for c in project.codes if c.name == "writing")
    while code is not None:
        chain.append(code.name)
        code = codes.get(code.parent_guid) if code.parent_guid else None
    assert chain[-1] == "rq2_curriculum_and_instruction" and len(chain) == 7
    raw = raw_selections(data)
    texts = {s.guid: s.text for s in project.sources}
    for selection in project.selections:
        _, _, _, name = raw[selection.guid]
        line = int(name.removeprefix("line:"))
        expected = texts[selection.source_guid].split("\n")[line] + "\n"
        assert texts[selection.source_guid][selection.start : selection.end] == expected


def test_atlas_sample_without_sources() -> None:
    data = sample("atlasti-8.4_standard-project.qde")
    project = read_qde(data)
    assert read_project(data) == project
    assert len(project.users) == 3
    assert len(project.codes) == 14
    codes = {c.name: c for c in project.codes}
    assert codes["diet Coke"].parent_guid == codes["Coke"].guid
    assert codes["full-fat Coke"].parent_guid == codes["Coke"].guid
    assert codes["Feelings"].description == "thoughts about breakfast foods"
    assert codes["milk"].color is None and codes["Coke"].color == "#966450"
    assert project.sources == () and project.selections == ()
    for name in [
        "1960s Coca Cola commercial - Audio.docx",
        "1960s Coca Cola commercial - Visual.docx",
        "1994 Diet Coke-Diet Coke Break.docx",
        "Mabêl 2ième.txt",
        "Mabel.txt",
        "Simon.docx",
    ]:
        assert any(f"'{name}'" in w and "not in the archive" in w for w in project.warnings)
    for kind in ["PictureSource", "PDFSource", "AudioSource", "VideoSource"]:
        assert any(w.startswith(kind) for w in project.warnings)


def test_atlas_sample_quotes_match_their_length_in_code_points() -> None:
    """With the texts absent, the sample's own names are the only check: where ATLAS.ti did not
    cut or rename the quote, its length equals end - start in code points."""
    root = parse_xml(sample("atlasti-8.4_standard-project.qde"))
    checked = 0
    for selection in root.iter(f"{NS}PlainTextSelection"):
        name = selection.get("name")
        start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
        if name.endswith("…") or name == "damage done by fatty foods":
            continue
        assert len(name) == end - start
        checked += 1
    assert checked == 3


@needs_shared
def test_real_samples_survive_export_and_reimport() -> None:
    xmlschema = pytest.importorskip("xmlschema")
    assert SHARED is not None
    schema = xmlschema.XMLSchema(str(SHARED / "Project-mrt2019.xsd"))
    for name in ["nvivo12-win_oltas0517.qdpx", "qc-1.3.2_demo.qdpx", "nvivo15-mac_qc-project.qdpx"]:
        imported = read_qdpx(sample(name))
        exported = write_qdpx(imported)
        with zipfile.ZipFile(io.BytesIO(exported)) as archive:
            schema.validate(io.BytesIO(archive.read("project.qde")))
        back = read_qdpx(exported)
        assert quotes(back) == quotes(imported)
        assert back.codes == imported.codes


# --------------------------------------------------------------------------------------------
# Hostile and broken input
# --------------------------------------------------------------------------------------------

MINIMAL_QDE = f"""<Project xmlns="urn:QDA-XML:project:1.0" name="p">
<CodeBook><Codes><Code guid="{g(10)}" name="c" isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="{g(50)}" name="s" plainTextPath="internal://s.txt">
<PlainTextSelection guid="{g(60)}" startPosition="0" endPosition="3">
<Coding guid="{g(61)}"><CodeRef targetGUID="{g(10)}"/></Coding></PlainTextSelection>
</TextSource></Sources></Project>"""


@pytest.mark.parametrize(
    "name", ["../evil.txt", "sources/../../etc/passwd", "/etc/passwd", "C:/x.txt", "a\\..\\b"]
)
def test_archive_with_path_traversal_names_is_refused(name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", MINIMAL_QDE)
        archive.writestr("sources/s.txt", "abc")
        archive.writestr(name, "x")
    with pytest.raises(QdpxError, match="unsafe name"):
        read_qdpx(buffer.getvalue())


def test_plain_text_path_leaving_the_sources_folder_is_not_followed() -> None:
    qde = MINIMAL_QDE.replace("internal://s.txt", "internal://../project.qde")
    project = read_qdpx(make_qdpx(qde, {"s.txt": b"abc"}))
    assert project.sources == ()
    assert any("unsafe path" in w for w in project.warnings)
    external = MINIMAL_QDE.replace("internal://s.txt", "absolute:///etc/passwd")
    project = read_qdpx(make_qdpx(external, {"s.txt": b"abc"}))
    assert any("outside the archive" in w for w in project.warnings)


def zip_with_zeros(name: str, size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", MINIMAL_QDE)
        with archive.open(name, "w", force_zip64=True) as stream:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                stream.write(block)
    return buffer.getvalue()


def test_zip_bomb_is_refused_by_its_declared_size() -> None:
    data = zip_with_zeros("sources/s.txt", 256 << 20)
    assert len(data) < 2 << 20
    with pytest.raises(QdpxError, match="more than 200 MB"):
        read_qdpx(data)


def test_zip_bomb_with_lying_sizes_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", MINIMAL_QDE)
        archive.writestr("sources/s.txt", bytes(8 << 20))
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("sources/s.txt")
    # Claim 10 unpacked bytes in both the local and the central header.
    struct.pack_into("<I", data, info.header_offset + 22, 10)
    struct.pack_into("<I", data, central_header(bytes(data), "sources/s.txt") + 24, 10)
    with pytest.raises(QdpxError, match="damaged"):
        read_qdpx(bytes(data), max_bytes=1 << 20)


def test_unpacked_size_is_bounded_across_entries() -> None:
    data = zip_with_zeros("sources/s.txt", 2 << 20)
    with pytest.raises(QdpxError, match="more than 1 MB"):
        read_qdpx(data, max_bytes=1 << 20)


def test_too_many_entries_are_refused() -> None:
    files = {f"f{i}.txt": b"x" for i in range(5)}
    with pytest.raises(QdpxError, match="holds 6 files"):
        read_qdpx(make_qdpx(MINIMAL_QDE, files), max_files=5)


def central_header(data: bytes, name: str) -> int:
    for match in re.finditer(b"PK\x01\x02", data):
        length = struct.unpack_from("<H", data, match.start() + 28)[0]
        if data[match.start() + 46 : match.start() + 46 + length] == name.encode():
            return match.start()
    raise LookupError(name)


def test_encrypted_entry_is_refused() -> None:
    data = bytearray(make_qdpx(MINIMAL_QDE, {"s.txt": b"abc"}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("sources/s.txt")
    struct.pack_into("<H", data, info.header_offset + 6, 1)
    struct.pack_into("<H", data, central_header(bytes(data), "sources/s.txt") + 8, 1)
    with pytest.raises(QdpxError, match="encrypted"):
        read_qdpx(bytes(data))


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Project [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol9;"/>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"/>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_attacks_are_refused(xml: str) -> None:
    with pytest.raises(QdpxError, match="DTD or entities"):
        read_qdpx(make_qdpx(xml, {}))
    with pytest.raises(QdpxError, match="DTD or entities"):
        read_qde(xml.encode())


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04broken", os.urandom(256)])
def test_non_zip_is_refused(data: bytes) -> None:
    with pytest.raises(QdpxError, match="not a REFI-QDA project archive"):
        read_qdpx(data)


def test_bare_qde_given_as_qdpx_gets_a_hint() -> None:
    with pytest.raises(QdpxError, match=r"bare project\.qde"):
        read_qdpx(MINIMAL_QDE.encode())


@pytest.mark.parametrize(
    ("qde", "message"),
    [
        ("<Project name='p'", "not well-formed"),
        ("<CodeBook xmlns='urn:QDA-XML:codebook:1.0'/>", "root element is not Project"),
    ],
)
def test_broken_project_xml_is_refused(qde: str, message: str) -> None:
    with pytest.raises(QdpxError, match=message):
        read_qdpx(make_qdpx(qde, {}))


def test_archive_without_project_file_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sources/s.txt", "abc")
    with pytest.raises(QdpxError, match=r"no project\.qde"):
        read_qdpx(buffer.getvalue())


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (0, 99, "lies outside the text"),
        (-2, 2, "lies outside the text"),
        (3, 1, "empty or reversed"),
        (2, 2, "empty or reversed"),
    ],
)
def test_selection_past_the_end_or_reversed_is_skipped(start: int, end: int, message: str) -> None:
    qde = MINIMAL_QDE.replace(
        'startPosition="0" endPosition="3"', f'startPosition="{start}" endPosition="{end}"'
    )
    project = read_qdpx(make_qdpx(qde, {"s.txt": b"abcdef"}))
    assert project.selections == ()
    assert len(project.sources) == 1
    assert any(g(60) in w and message in w for w in project.warnings)


def test_selection_splitting_a_character_is_skipped() -> None:
    # In "😀ab" (4 UTF-16 units) 2-4 fits only UTF-16 and 1-3 only code points: the tie goes
    # to NVivo's UTF-16, and 1-3 then cuts the emoji in half.
    spans = [(0, 2), (2, 4), (1, 3)]
    selections = "".join(
        f'<PlainTextSelection guid="{g(60 + n)}" startPosition="{a}" endPosition="{b}">'
        f'<Coding guid="{g(70 + n)}"><CodeRef targetGUID="{g(10)}"/></Coding></PlainTextSelection>'
        for n, (a, b) in enumerate(spans)
    )
    qde = f"""<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="NVivo 14">
<CodeBook><Codes><Code guid="{g(10)}" name="c" isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="{g(50)}" name="s" plainTextPath="internal://s.txt">{selections}
</TextSource></Sources></Project>"""
    project = read_qdpx(make_qdpx(qde, {"s.txt": "😀ab".encode()}))
    assert project.position_convention == UTF16.label
    assert quotes(project) == {g(70): "😀", g(71): "ab"}
    assert any(g(62) in w and "splits a character" in w for w in project.warnings)


def test_coding_with_an_unknown_code_is_skipped() -> None:
    unknown = MINIMAL_QDE.replace(
        f'<CodeRef targetGUID="{g(10)}"/>', f'<CodeRef targetGUID="{g(9)}"/>'
    )
    project = read_qdpx(make_qdpx(unknown, {"s.txt": b"abcdef"}))
    assert project.selections == ()
    assert any("unknown code" in w for w in project.warnings)


def test_source_that_is_not_utf8_is_skipped() -> None:
    project = read_qdpx(make_qdpx(MINIMAL_QDE, {"s.txt": b"caf\xe9"}))
    assert project.sources == ()
    assert any("not valid UTF-8" in w for w in project.warnings)


def test_deeply_nested_codes_do_not_exhaust_the_stack() -> None:
    depth = 5000
    codes = "".join(
        f'<Code guid="{g(1000 + i)}" name="c{i}" isCodable="true">' for i in range(depth)
    )
    qde = (
        '<Project xmlns="urn:QDA-XML:project:1.0" name="deep"><CodeBook><Codes>'
        + codes
        + "</Code>" * depth
        + "</Codes></CodeBook></Project>"
    )
    project = read_qdpx(make_qdpx(qde, {}))
    assert len(project.codes) == depth
    assert project.codes[-1].parent_guid == g(1000 + depth - 2)
