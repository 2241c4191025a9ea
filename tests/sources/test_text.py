import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negotiations.sources.text import (
    codepoint_to_utf16,
    normalise_text,
    snap_to_words,
    split_sentences,
    utf16_to_codepoint,
)


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


# Pieces that exercise the splitter's rules more often than uniformly random text would.
PIECES = st.sampled_from(
    [
        *("The", "talks", "ended", "a", "b", "Kim", "김정은", "위원장", "同意", "3.5", "😀"),
        *("Mr.", "U.S.", "e.g.", "etc.", "J.", "No.", "5", "Un."),
        *(".", "!", "?", "…", "...", "\u3002", '"', "\u201d", ")", "'"),
        *(" ", "  ", "\n", "\n\n", "\t", "\u3000", "\xa0"),
    ]
)
SENTENCE_TEXT = st.one_of(st.lists(PIECES, max_size=40).map("".join), st.text(max_size=200))


class TestNormaliseText:
    def test_strips_bom_and_outer_whitespace(self):
        assert normalise_text("\ufeff  \n\nAgreed text.  \n\n") == "Agreed text."

    def test_line_endings_become_newlines(self):
        text = "one\r\ntwo\rthree\u2028four\u2029five\x85six"
        assert normalise_text(text) == "one\ntwo\nthree\nfour\nfive\nsix"

    def test_page_breaks_become_newlines_rather_than_gluing_words(self):
        assert normalise_text("end of page\x0cnext\x0bline") == "end of page\nnext\nline"

    def test_removes_control_characters_but_keeps_tabs(self):
        assert normalise_text("a\x00b\x07c\td\x1be\x1ff") == "abc\tdef"

    def test_composes_to_nfc(self):
        assert normalise_text("cafe\u0301") == "caf\u00e9"
        assert normalise_text("\u1100\u1161") == "\uac00"  # Hangul jamo compose to a syllable

    def test_keeps_interior_blank_lines_and_indentation(self):
        text = "First.\n\n\n\n    Indented second.\n \nThird."
        assert normalise_text(text) == text

    def test_keeps_an_interior_bom(self):
        assert normalise_text("a\ufeffb") == "a\ufeffb"

    @given(st.text())
    def test_is_idempotent(self, text: str):
        once = normalise_text(text)
        assert normalise_text(once) == once
        assert "\r" not in once
        assert once == once.strip()


class TestSplitSentences:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
            (
                "Mr. Kim met Dr. Lee on Jan. 5. They talked.",
                ["Mr. Kim met Dr. Lee on Jan. 5.", "They talked."],
            ),
            (
                "The U.S. delegation and the U.N. envoy met in Washington, D.C. today.",
                ["The U.S. delegation and the U.N. envoy met in Washington, D.C. today."],
            ),
            # Ambiguous: "U.S." may end the sentence or precede a name; we keep it together.
            (
                "Aid came from the U.S. The North refused.",
                ["Aid came from the U.S. The North refused."],
            ),
            (
                "Aid came from the U.S.\nThe North refused.",
                ["Aid came from the U.S.", "The North refused."],
            ),
            ("Gen. Park and Amb. Gallucci arrived.", ["Gen. Park and Amb. Gallucci arrived."]),
            ("J. Smith wrote it. R. Jones agreed.", ["J. Smith wrote it.", "R. Jones agreed."]),
            ("Kim Jong Un. He spoke.", ["Kim Jong Un.", "He spoke."]),
            ("See e.g. Seoul and i.e. Pyongyang.", ["See e.g. Seoul and i.e. Pyongyang."]),
            (
                "Fuel, food etc. and more. Talks etc. Then a break.",
                [
                    "Fuel, food etc. and more.",
                    "Talks etc.",
                    "Then a break.",
                ],
            ),
            ("See No. 5 here. No. We refuse.", ["See No. 5 here.", "No.", "We refuse."]),
            (
                "It grew 3.5 percent in 1994. Then it fell.",
                ["It grew 3.5 percent in 1994.", "Then it fell."],
            ),
            (
                'He said "We agree." Then he left.',
                ['He said "We agree."', "Then he left."],
            ),
            (
                "He said \u201cWe agree.\u201d (Really.) Then",
                ["He said \u201cWe agree.\u201d", "(Really.)", "Then"],
            ),
            ('"Why?" he asked. Nobody knew.', ['"Why?" he asked.', "Nobody knew."]),
            ("Wait... what? Fine\u2026 Go!!! Now", ["Wait... what?", "Fine\u2026", "Go!!!", "Now"]),
            (
                "김정은 위원장은 말했다. 미국은 응답했다.",
                ["김정은 위원장은 말했다.", "미국은 응답했다."],
            ),
            (
                "我们同意\u3002他们拒绝\uff01\u300c好\u3002\u300d结束",
                ["我们同意\u3002", "他们拒绝\uff01", "\u300c好\u3002\u300d", "结束"],
            ),
            (
                "A heading\nA line without a stop\n\n\nNext paragraph.",
                [
                    "A heading",
                    "A line without a stop",
                    "Next paragraph.",
                ],
            ),
            ("We agree 😀. Next 😀", ["We agree 😀.", "Next 😀"]),
            ("  \n\n  ", []),
            ("", []),
        ],
    )
    def test_examples(self, text: str, expected: list[str]):
        assert sentences(text) == expected

    def test_offsets_count_code_points_past_an_emoji(self):
        text = "😀 Agreed. Next."
        assert split_sentences(text) == [(0, 9), (10, 15)]
        assert text[10:15] == "Next."

    def test_crlf_input_after_normalisation(self):
        text = normalise_text("First line.\r\nSecond line\r\n\r\nThird. Fourth.\r\n")
        assert sentences(text) == ["First line.", "Second line", "Third.", "Fourth."]

    @given(SENTENCE_TEXT)
    def test_segments_are_ordered_trimmed_and_cover_all_text(self, text: str):
        segments = split_sentences(text)
        previous_end = 0
        covered = set()
        for start, end in segments:
            assert previous_end <= start < end <= len(text)
            sentence = text[start:end]
            assert not sentence[0].isspace()
            assert not sentence[-1].isspace()
            covered.update(range(start, end))
            previous_end = end
        uncovered = [text[i] for i in range(len(text)) if i not in covered]
        assert all(char.isspace() for char in uncovered)

    @given(SENTENCE_TEXT)
    def test_a_newline_always_ends_a_sentence(self, text: str):
        assert all("\n" not in sentence for sentence in sentences(text))

    @pytest.mark.timing
    def test_two_million_characters_take_linear_time(self):
        paragraph = (
            'Mr. Kim told the U.S. envoy on Jan. 5 that growth was 3.5 percent. "We agree," '
            "said Dr. Lee! Was it enough? 김정은 위원장은 말했다. "
            "我们同意\u3002 Talks ended\u2026\n\n"
        )
        repeats = 2_000_000 // len(paragraph) + 1
        assert len(split_sentences(paragraph * repeats)) == 6 * repeats
        assert_linear(lambda n: paragraph * (repeats * n // 8))

    @pytest.mark.parametrize(
        "unit",
        [".", ".\u201d", " ", "a. ", "\n \n"],
        ids=["dots", "dots-and-quotes", "spaces", "short-sentences", "blank-lines"],
    )
    @pytest.mark.timing
    def test_pathological_input_stays_linear(self, unit: str):
        if unit == " ":
            assert_linear(lambda n: "a" + " " * (125_000 * n) + ".")
        else:
            assert_linear(lambda n: unit * (300_000 * n // 8))


def _cpu_seconds(text: str) -> float:
    """The least processor time of three runs: other work on the machine only adds to it."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        split_sentences(text)
        best = min(best, time.process_time() - started)
    return best


def assert_linear(make_text) -> None:
    """Eight times the text costs about eight times the time: a quadratic split would cost 64
    times. The bound (24) leaves room for noise and is far from either; no absolute time is
    asserted, so a slow or busy machine cannot fail it."""
    small, large = make_text(1), make_text(8)
    assert len(large) >= 7 * len(small)
    ratio = _cpu_seconds(large) / max(_cpu_seconds(small), 1e-4)
    assert ratio < 24, f"8x the text took {ratio:.1f}x the time"


class TestUtf16Offsets:
    def test_emoji_counts_twice_in_utf16(self):
        assert codepoint_to_utf16("a😀b", 1) == 1
        assert codepoint_to_utf16("a😀b", 2) == 3
        assert codepoint_to_utf16("a😀b", 3) == 4
        assert utf16_to_codepoint("a😀b", 3) == 2
        assert utf16_to_codepoint("a😀b", 4) == 3

    def test_bmp_text_is_unchanged(self):
        text = "김정은 위원장 café"
        assert [codepoint_to_utf16(text, i) for i in range(len(text) + 1)] == list(
            range(len(text) + 1)
        )

    def test_offset_inside_a_surrogate_pair_is_refused(self):
        with pytest.raises(ValueError, match="surrogate pair"):
            utf16_to_codepoint("a😀b", 2)

    @pytest.mark.parametrize("index", [-1, 5])
    def test_utf16_offset_out_of_range_is_refused(self, index: int):
        with pytest.raises(ValueError, match="outside"):
            utf16_to_codepoint("a😀b", index)

    @pytest.mark.parametrize("index", [-1, 4])
    def test_codepoint_offset_out_of_range_is_refused(self, index: int):
        with pytest.raises(ValueError, match="outside"):
            codepoint_to_utf16("a😀b", index)

    @given(st.text(), st.data())
    def test_round_trip(self, text: str, data: st.DataObject):
        index = data.draw(st.integers(0, len(text)))
        utf16 = codepoint_to_utf16(text, index)
        assert utf16 == len(text[:index].encode("utf-16-le")) // 2
        assert utf16_to_codepoint(text, utf16) == index


class TestSnapToWords:
    TEXT = "The so-called deal wasn't signed by 김정은 today."

    def snapped(self, start: int, end: int) -> str:
        start, end = snap_to_words(self.TEXT, start, end)
        return self.TEXT[start:end]

    def test_widens_a_span_that_cuts_words(self):
        start = self.TEXT.index("alled")
        assert self.snapped(start, start + 9) == "so-called deal"

    def test_apostrophe_belongs_to_the_word(self):
        start = self.TEXT.index("sn't")
        assert self.snapped(start, start + 2) == "wasn't"

    def test_hangul_is_a_word(self):
        start = self.TEXT.index("정")
        assert self.snapped(start, start + 1) == "김정은"

    def test_trims_whitespace_after_widening(self):
        start = self.TEXT.index(" deal")
        assert self.snapped(start, start + 3) == "deal"

    def test_keeps_punctuation_at_the_edges(self):
        start = self.TEXT.index("oday.")
        assert self.snapped(start, len(self.TEXT)) == "today."

    def test_whole_words_are_unchanged(self):
        start = self.TEXT.index("deal")
        assert snap_to_words(self.TEXT, start, start + 4) == (start, start + 4)

    def test_quote_marks_at_word_edges_are_not_words(self):
        text = "He said 'no' twice."
        start = text.index("no")
        assert snap_to_words(text, start, start + 1) == (start, start + 2)

    def test_whitespace_and_punctuation_only(self):
        text = "one , two"
        assert snap_to_words(text, 3, 6) == (4, 5)
        assert snap_to_words(text, 3, 4) == (4, 4)

    @pytest.mark.parametrize(("start", "end"), [(-1, 2), (3, 2), (0, 100)])
    def test_out_of_range_is_refused(self, start: int, end: int):
        with pytest.raises(ValueError, match="outside"):
            snap_to_words("some text", start, end)

    @given(SENTENCE_TEXT, st.data())
    def test_snapped_span_contains_the_selection_and_is_stable(
        self, text: str, data: st.DataObject
    ):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, len(text)))
        new_start, new_end = snap_to_words(text, start, end)
        assert 0 <= new_start <= new_end <= len(text)
        assert text[new_start:new_end] == text[new_start:new_end].strip()
        for index in range(start, end):
            assert text[index].isspace() or new_start <= index < new_end
        assert snap_to_words(text, new_start, new_end) == (new_start, new_end)
