import io
import random
import zipfile
from pathlib import Path

import docx
import pytest
from docx.document import Document
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from negotiations.sources import extract
from negotiations.sources.extract import (
    SUPPORTED_EXTENSIONS,
    ExtractedText,
    ExtractionError,
    decode_text,
    extract_text,
    html_to_text,
)
from negotiations.sources.text import normalise_text
from tests.files import make_pdf

WESTERN = "naïve café \u2013 \u201cquotes\u201d"
KOREAN = "김정은 위원장"
TEXT_PDF = make_pdf(b"BT /F1 12 Tf 72 720 Td (Agreed Framework text) Tj ET")


def encrypted(pdf: bytes, *, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    # RC4 needs no optional crypto package, unlike AES.
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(document: Document, tmp_path: Path) -> bytes:
    path = tmp_path / "source.docx"
    document.save(str(path))
    return path.read_bytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def error_message(filename: str, data: bytes, **limits: int) -> str:
    with pytest.raises(ExtractionError) as caught:
        extract_text(filename, data, **limits)
    return str(caught.value)


class TestFileTypes:
    def test_supported_extensions(self):
        assert SUPPORTED_EXTENSIONS == (".txt", ".md", ".html", ".htm", ".docx", ".pdf")

    def test_unsupported_extension(self):
        assert error_message("minutes.xyz", b"text") == (
            "Unsupported file type '.xyz'; use .txt, .md, .html, .docx or .pdf."
        )

    def test_no_extension(self):
        assert error_message("README", b"text") == (
            "The file name has no extension; use .txt, .md, .html, .docx or .pdf."
        )

    def test_extension_is_case_insensitive(self):
        assert extract_text("MINUTES.TXT", b"Agreed.") == ExtractedText(
            text="Agreed.", encoding="utf-8", kind="text"
        )

    def test_markdown_is_kept_as_written(self):
        result = extract_text("notes.md", b"# Talks\r\n\r\n*Both* sides agreed.\r\n")
        assert result == ExtractedText(
            text="# Talks\n\n*Both* sides agreed.", encoding="utf-8", kind="markdown"
        )


@given(st.binary(max_size=2000), st.sampled_from(SUPPORTED_EXTENSIONS))
def test_any_bytes_give_normalised_text_or_an_extraction_error(data: bytes, extension: str):
    try:
        result = extract_text(f"upload{extension}", data)
    except ExtractionError:
        return
    assert result.text
    assert normalise_text(result.text) == result.text


class TestLimits:
    def test_empty_file(self):
        assert error_message("empty.txt", b"") == "The file is empty."

    @pytest.mark.parametrize("data", [b"  \r\n\t \n", b"\xef\xbb\xbf", "\u3000\n".encode()])
    def test_file_without_text(self, data: bytes):
        assert error_message("blank.txt", data) == "The file holds no text."

    def test_default_size_limit(self):
        data = b"a" * (10 * 1024 * 1024 + 1)
        assert error_message("big.txt", data) == "The file is larger than the 10 MB limit."

    def test_size_is_checked_before_parsing(self):
        message = error_message("broken.pdf", b"not a pdf" * 20, max_bytes=100)
        assert message == "The file is larger than the 100 bytes limit."

    def test_default_text_length_limit(self):
        assert error_message("long.txt", b"a" * 2_000_001) == (
            "The text is longer than the limit of 2,000,000 characters."
        )

    def test_text_length_is_counted_after_normalisation(self):
        # 10 bytes, but 5 characters once CRLFs become newlines and the outer ones are stripped.
        assert extract_text("short.txt", b"\r\nab\r\ncd\r\n", max_chars=5).text == "ab\ncd"
        # Two bytes per character in UTF-8, so the byte count would overstate it.
        assert extract_text("korean.txt", KOREAN.encode(), max_chars=7).text == KOREAN
        message = error_message("korean.txt", KOREAN.encode(), max_chars=6)
        assert message == "The text is longer than the limit of 6 characters."


class TestDecoding:
    @pytest.mark.parametrize(
        ("data", "encoding"),
        [
            (f"{WESTERN} {KOREAN} 😀".encode(), "utf-8"),
            (f"\ufeff{WESTERN} {KOREAN} 😀".encode(), "utf-8"),
            (f"\ufeff{WESTERN} {KOREAN} 😀".encode("utf-16-le"), "utf-16-le"),
            (f"\ufeff{WESTERN} {KOREAN} 😀".encode("utf-16-be"), "utf-16-be"),
            (f"\ufeff{WESTERN} {KOREAN} 😀".encode("utf-32-le"), "utf-32-le"),
            (f"\ufeff{WESTERN} {KOREAN} 😀".encode("utf-32-be"), "utf-32-be"),
        ],
    )
    def test_unicode_encodings(self, data: bytes, encoding: str):
        assert extract_text("source.txt", data) == ExtractedText(
            text=f"{WESTERN} {KOREAN} 😀", encoding=encoding, kind="text"
        )

    @pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
    def test_utf16_without_bom(self, encoding: str):
        text = "The Agreed Framework of 21 October 1994.\nBoth sides agreed."
        assert decode_text(text.encode(encoding)) == (text, encoding)

    def test_windows_1252(self):
        assert decode_text(WESTERN.encode("cp1252")) == (WESTERN, "cp1252")

    def test_latin_1(self):
        text = "Ça été très légèrement différent, déjà."
        decoded, _encoding = decode_text(text.encode("iso-8859-1"))
        assert decoded == text

    def test_euc_kr(self):
        decoded, encoding = decode_text(KOREAN.encode("euc-kr"))
        assert decoded == KOREAN
        assert encoding in {"euc_kr", "cp949"}

    def test_shift_jis(self):
        text = "東京で会議が開かれた。"
        decoded, _encoding = decode_text(text.encode("shift_jis"))
        assert decoded == text

    def test_undecodable_bytes(self):
        assert error_message("odd.txt", bytes(range(0x80, 0x100))) == (
            "The text could not be decoded; save it as UTF-8 and try again."
        )

    def test_random_binary(self):
        data = random.Random(0).randbytes(4096)
        assert error_message("image.txt", data) == "This file looks like binary data, not text."

    def test_control_characters_without_nul_are_binary(self):
        data = bytes(range(1, 32)) * 50
        assert error_message("dump.txt", data) == "This file looks like binary data, not text."

    def test_a_few_stray_control_characters_are_removed(self):
        data = b"A long transcript line with one stray bell\x07 in it."
        assert (
            extract_text("x.txt", data).text == "A long transcript line with one stray bell in it."
        )

    def test_nul_bytes_in_utf8_text_mean_binary(self):
        data = b"Looks like text\x00\x00\x01\x00 but has NULs in both positions\x00\x00"
        assert error_message("x.txt", data) == "This file looks like binary data, not text."

    def test_bom_followed_by_invalid_data(self):
        assert error_message("x.txt", b"\xef\xbb\xbfok \xff\xfe") == (
            "The text could not be decoded; save it as UTF-8 and try again."
        )


class TestHtml:
    PAGE = (
        b"<!DOCTYPE html><html><head><meta charset='windows-1252'><title>Site title</title>"
        b"<style>p { color: red }</style>"
        b'<script>var s = "<p>not text</p>";</script></head>\n'
        b"<body><h1>Joint   Statement</h1>\n"
        b"  <p>Both sides &amp; their allies agreed&nbsp;today.</p><ul>\n"
        b"    <li>First</li>\n    <li>Second</li></ul>"
        b"<p>Line one<br>Line two<br><br><br>Line three</p>"
        b"<noscript>Enable JavaScript</noscript><template><p>Hidden</p></template>"
        b"<table><tr><th>A</th><td>B</td></tr><tr><td>C</td><td>D</td></tr></table>"
        b"<pre>  keep   spacing\n  here</pre>"
        b"<div>Caf\xe9 <b>bold</b> <i>italic</i> &lt;tag&gt; &#x1F600;</div></body></html>"
    )

    def test_page_becomes_readable_text(self):
        result = extract_text("statement.html", self.PAGE)
        assert result.kind == "html"
        assert result.encoding == "cp1252"
        assert result.text == (
            "Joint Statement\n\n"
            "Both sides & their allies agreed\xa0today.\n\n"
            "First\nSecond\n\n"
            "Line one\nLine two\n\nLine three\n\n"
            "A B\nC D\n\n"
            "  keep   spacing\n  here\n\n"
            "Café bold italic <tag> 😀"
        )

    def test_htm_extension(self):
        assert extract_text("a.HTM", b"<p>Hello</p>").text == "Hello"

    def test_valid_utf8_wins_over_a_stale_meta_charset(self):
        page = '<meta charset="iso-8859-1"><p>김정은 café</p>'.encode()
        assert extract_text("a.html", page) == ExtractedText(
            text="김정은 café", encoding="utf-8", kind="html"
        )

    def test_meta_charset_in_http_equiv(self):
        page = (
            f'<meta http-equiv="Content-Type" content="text/html; charset=euc-kr"><p>{KOREAN}</p>'
        ).encode("euc-kr")
        assert extract_text("a.html", page).text == KOREAN

    def test_unclosed_head_does_not_hide_the_body(self):
        assert html_to_text("<html><head><title>T</title><p>Body text") == "Body text"

    def test_page_with_only_scripts_holds_no_text(self):
        page = b"<html><head><script>alert(1)</script></head><body> </body></html>"
        assert error_message("a.html", page) == "The file holds no text."

    def test_malformed_declaration_is_a_clear_error(self):
        assert error_message("a.html", b"<p>Text</p><![><p>more") == (
            "This HTML file is too malformed to read; save the page as text and try again."
        )


class TestDocx:
    def test_paragraphs_and_table_cells_in_reading_order(self, tmp_path: Path):
        document = docx.Document()
        document.add_paragraph("First paragraph.")
        document.add_paragraph("")
        document.add_paragraph("Second paragraph, with a line\nbreak.")
        table = document.add_table(rows=3, cols=2)
        table.cell(0, 0).text = "Merged heading"
        table.cell(0, 0).merge(table.cell(0, 1))
        table.cell(1, 0).text = "Tall cell"
        table.cell(1, 0).merge(table.cell(2, 0))
        table.cell(1, 1).text = "Right one"
        table.cell(2, 1).text = "Right two"
        document.add_paragraph("김정은 위원장 😀 after the table.")

        result = extract_text("minutes.docx", docx_bytes(document, tmp_path))

        assert result == ExtractedText(
            text=(
                "First paragraph.\n\n"
                "Second paragraph, with a line\nbreak.\n\n"
                "Merged heading\n\nTall cell\n\nRight one\n\nRight two\n\n"
                "김정은 위원장 😀 after the table."
            ),
            encoding=None,
            kind="docx",
        )

    def test_empty_document_holds_no_text(self, tmp_path: Path):
        data = docx_bytes(docx.Document(), tmp_path)
        assert error_message("empty.docx", data) == "The file holds no text."

    @pytest.mark.parametrize(
        "data",
        [
            b"This is not a zip file at all.",
            b"PK\x03\x04 truncated",
            zip_bytes({"readme.txt": b"A zip, but not a Word document."}),
            zip_bytes({"[Content_Types].xml": b"<broken", "word/document.xml": b"<w:document"}),
        ],
    )
    def test_damaged_docx(self, data: bytes):
        assert error_message("broken.docx", data) == (
            "This .docx file is damaged or not a Word document."
        )

    def test_zip_bomb_is_refused(self):
        # 150 MB of zeros, written in chunks so the test never holds it in memory.
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", b"<Types/>")
            with archive.open("word/document.xml", "w") as member:
                chunk = bytes(1024 * 1024)
                for _ in range(150):
                    member.write(chunk)
        data = buffer.getvalue()
        assert len(data) < 1024 * 1024
        assert error_message("bomb.docx", data) == (
            "This .docx unpacks to far more than its size; refusing it."
        )

    def test_compression_ratio_alone_is_refused(self):
        # Only 4 MB unpacked, well under the total limit, but over 200 times its packed size.
        data = zip_bytes({"word/document.xml": bytes(4 * 1024 * 1024)})
        assert error_message("bomb.docx", data) == (
            "This .docx unpacks to far more than its size; refusing it."
        )

    def test_total_unpacked_size_alone_is_refused(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ):
        document = docx.Document()
        document.add_paragraph("An ordinary document.")
        data = docx_bytes(document, tmp_path)
        assert extract_text("ok.docx", data).text == "An ordinary document."
        monkeypatch.setattr(extract, "DOCX_MAX_UNPACKED_BYTES", len(data))
        assert error_message("ok.docx", data) == (
            "This .docx unpacks to far more than its size; refusing it."
        )


class TestPdf:
    def test_hand_built_pdf_is_well_formed(self):
        # strict=True fails on a wrong xref offset instead of silently repairing it.
        reader = PdfReader(io.BytesIO(TEXT_PDF), strict=True)
        assert len(reader.pages) == 1

    def test_text_layer(self):
        assert extract_text("framework.pdf", TEXT_PDF) == ExtractedText(
            text="Agreed Framework text", encoding=None, kind="pdf"
        )

    @pytest.mark.parametrize(
        "content", [b"", b"0 0 1 rg 72 72 200 100 re f", b"BT /F1 12 Tf 72 720 Td (   ) Tj ET"]
    )
    def test_no_text_layer(self, content: bytes):
        assert error_message("scan.pdf", make_pdf(content)) == (
            "This PDF has no text layer; run OCR first."
        )

    @pytest.mark.parametrize(
        "data", [b"%PDF-1.4\nnot really a pdf", b"Just some text named .pdf", TEXT_PDF[:200]]
    )
    def test_damaged_pdf(self, data: bytes):
        assert error_message("broken.pdf", data) == "This PDF is damaged or not a PDF."

    def test_password_protected_pdf(self):
        data = encrypted(TEXT_PDF, user_password="secret")
        assert error_message("secret.pdf", data) == (
            "This PDF is password-protected; remove the protection and upload it again."
        )

    def test_pdf_encrypted_with_an_empty_user_password_opens(self):
        data = encrypted(TEXT_PDF, user_password="")
        assert extract_text("restricted.pdf", data).text == "Agreed Framework text"

    def test_page_limit(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(extract, "MAX_PDF_PAGES", 0)
        assert error_message("long.pdf", TEXT_PDF) == (
            "This PDF has more than 0 pages; split it first."
        )
