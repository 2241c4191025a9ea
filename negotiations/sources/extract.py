"""Turn an uploaded file's bytes into the plain text of a source.

Every format ends in ``normalise_text``, so offsets count the same text whatever was uploaded.
Failures raise ``ExtractionError`` with a message meant for the person uploading.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

import docx
from charset_normalizer import from_bytes
from docx.document import Document
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from negotiations.sources.text import normalise_text

_KINDS = {
    ".txt": "text",
    ".md": "markdown",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".pdf": "pdf",
}


SUPPORTED_EXTENSIONS = tuple(_KINDS)


_SUPPORTED_LIST = ".txt, .md, .html, .docx or .pdf"


MAX_PDF_PAGES = 2000


DOCX_MAX_UNPACKED_BYTES = 100 * 1024 * 1024


DOCX_MAX_RATIO = 200


_DAMAGED_DOCX = "This .docx file is damaged or not a Word document."


_DAMAGED_PDF = "This PDF is damaged or not a PDF."


_PROTECTED_PDF = "This PDF is password-protected; remove the protection and upload it again."


_UNDECODABLE = "The text could not be decoded; save it as UTF-8 and try again."


_BINARY = "This file looks like binary data, not text."


_MALFORMED_HTML = "This HTML file is too malformed to read; save the page as text and try again."


# UTF-32 first: its little-endian BOM begins with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


_UTF16_SAMPLE_BYTES = 4096


_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


_MAX_CONTROL_SHARE = 0.05


_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)


class ExtractionError(ValueError):
    """The upload cannot become text; ``str(error)`` is the message to show."""


@dataclass(frozen=True)
class ExtractedText:
    text: str
    encoding: str | None  # None for .docx and .pdf, which are not stored in a text encoding
    kind: str  # "text", "markdown", "html", "docx" or "pdf"


def extract_text(
    filename: str,
    data: bytes,
    *,
    max_bytes: int = 10 * 1024 * 1024,
    max_chars: int = 2_000_000,
) -> ExtractedText:
    """Extract, decode and normalise the text of an uploaded file, chosen by its extension."""
    extension = PurePath(filename).suffix.lower()
    kind = _KINDS.get(extension)
    if kind is None:
        if not extension:
            raise ExtractionError(f"The file name has no extension; use {_SUPPORTED_LIST}.")
        raise ExtractionError(f"Unsupported file type '{extension}'; use {_SUPPORTED_LIST}.")
    if not data:
        raise ExtractionError("The file is empty.")
    if len(data) > max_bytes:
        raise ExtractionError(f"The file is larger than the {_format_size(max_bytes)} limit.")

    encoding: str | None = None
    match kind:
        case "docx":
            raw = _docx_text(data)
        case "pdf":
            raw = _pdf_text(data)
        case "html":
            html, encoding = decode_text(data, declared_encoding=_meta_charset(data))
            raw = html_to_text(html)
        case _:
            # Markdown stays as written: its markup is readable and coders may quote it.
            raw, encoding = decode_text(data)

    text = normalise_text(raw)
    if not text:
        if kind == "pdf":
            raise ExtractionError("This PDF has no text layer; run OCR first.")
        raise ExtractionError("The file holds no text.")
    if len(text) > max_chars:
        raise ExtractionError(f"The text is longer than the limit of {max_chars:,} characters.")
    return ExtractedText(text=text, encoding=encoding, kind=kind)


def _format_size(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes >= 1 else f"{size:,} bytes"


def decode_text(data: bytes, *, declared_encoding: str | None = None) -> tuple[str, str]:
    """Decode text bytes, returning the text and the name of the encoding used.

    The order runs from certain to guessed: byte-order mark, BOM-less UTF-16, strict UTF-8,
    the declared encoding (an HTML ``<meta charset>``), then charset_normalizer's best guess.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked(_decode_or_fail(data[len(bom) :], encoding), encoding)

    encoding = _utf16_without_bom(data)
    if encoding is not None:
        try:
            return _checked(data.decode(encoding), encoding)
        except UnicodeDecodeError:
            pass  # Not UTF-16 after all; the NUL bytes below will mark it as binary.

    if b"\x00" in data:
        raise ExtractionError(_BINARY)

    # Legacy encodings rarely form valid UTF-8 by accident, so valid UTF-8 wins even over a
    # declared encoding: a stale <meta charset> survives many a re-save as UTF-8.
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass

    encoding = _usable_codec(declared_encoding)
    if encoding is not None:
        try:
            return _checked(data.decode(encoding), encoding)
        except UnicodeDecodeError:
            pass  # The declaration is wrong; guess instead.

    return _guess(data)


def _decode_or_fail(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ExtractionError(_UNDECODABLE) from error


def _utf16_without_bom(data: bytes) -> str | None:
    # Text in a Latin script saved as UTF-16 has a NUL as the high byte of almost every
    # character, so NULs pile up at odd (little-endian) or even (big-endian) positions. Binary
    # data has NULs at both or at neither.
    sample = data[:_UTF16_SAMPLE_BYTES]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls * 10 >= pairs and even_nuls * 20 <= odd_nuls:
        return "utf-16-le"
    if even_nuls * 10 >= pairs and odd_nuls * 20 <= even_nuls:
        return "utf-16-be"
    return None


def _usable_codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # As browsers do (WHATWG Encoding): Latin-1 and ASCII labels mean Windows-1252, and a meta
    # tag cannot declare UTF-16 or UTF-32 because it was read as ASCII.
    if name in {"ascii", "iso8859-1"}:
        return "cp1252"
    if name.startswith(("utf-16", "utf-32")):
        return None
    return name


def _guess(data: bytes) -> tuple[str, str]:
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise ExtractionError(_UNDECODABLE)
    # On short texts charset_normalizer often finds several encodings equally plausible and
    # may pick Central European cp1250, turning "naïve" into "naďve". Windows-1252 is by far the
    # most common legacy encoding, so it wins ties.
    for candidate in matches:
        tied = candidate.chaos == best.chaos and candidate.coherence == best.coherence
        if tied and "cp1252" in candidate.could_be_from_charset:
            return _checked(data.decode("cp1252"), "cp1252")
    name = codecs.lookup(best.encoding).name
    # DOS code pages (cp437, cp775, cp850...) are hardly ever what a file made today uses, yet
    # short Western text often looks "coherent" in them; Windows-1252 decodes such files right.
    if name in _DOS_CODEPAGES:
        try:
            return _checked(data.decode("cp1252"), "cp1252")
        except UnicodeDecodeError:
            pass
    return _checked(str(best), name)


_DOS_CODEPAGES = frozenset(
    f"cp{n}"
    for n in (
        437,
        720,
        737,
        775,
        850,
        852,
        855,
        856,
        857,
        858,
        860,
        861,
        862,
        863,
        864,
        865,
        866,
        869,
    )
)


def _checked(text: str, encoding: str) -> tuple[str, str]:
    # Bytes that decode without error can still be binary (an image saved as .txt): real text
    # has almost no control characters besides tabs and line breaks.
    if text and len(_BINARY_CONTROLS.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        raise ExtractionError(_BINARY)
    return text, codecs.lookup(encoding).name


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "svg"})


_HEAD_TAGS = frozenset({"title", "meta", "link", "base", "style", "script", "noscript", "template"})


_PARAGRAPH_TAGS = frozenset(
    {
        *("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "address"),
        *("section", "article", "aside", "header", "footer", "main", "nav", "figure"),
        *("table", "ul", "ol", "dl", "form", "fieldset", "details"),
    }
)


_LINE_TAGS = frozenset(
    {"div", "li", "tr", "dt", "dd", "caption", "figcaption", "summary", "legend", "option"}
)


_CELL_TAGS = frozenset({"td", "th"})


_HTML_WHITESPACE = re.compile(r"[ \t\n\r\f]+")


_EXTRA_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")


def html_to_text(html: str) -> str:
    """Reduce an HTML document to its readable text, one block element per line."""
    parser = _HtmlTextParser()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError as error:
        # html.parser still signals some malformed declarations ("<![" without a name) this way.
        raise ExtractionError(_MALFORMED_HTML) from error
    return _EXTRA_BLANK_LINES.sub("\n\n", parser.text())


class _HtmlTextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._skipping: list[str] = []
        self._pre_depth = 0
        self._pending_breaks = 0
        self._at_line_start = True

    def text(self) -> str:
        return "".join(self._parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Browsers close <head> at the first tag that cannot live there; an unclosed <head>
        # must not swallow the whole document.
        if "head" in self._skipping and tag not in _HEAD_TAGS:
            self._skipping.remove("head")
        if tag in _SKIPPED_TAGS:
            self._skipping.append(tag)
            return
        if self._skipping:
            return
        if tag == "pre":
            self._pre_depth += 1
        if tag == "br":
            # Two <br> in a row are how many pages mark a paragraph.
            self._pending_breaks = min(self._pending_breaks + 1, 2)
        elif tag in _CELL_TAGS:
            self.handle_data(" ")
        else:
            self._break_for(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            # Close everything opened inside the skipped element too, as a browser would.
            del self._skipping[len(self._skipping) - 1 - self._skipping[::-1].index(tag) :]
            return
        if self._skipping:
            return
        if tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
        self._break_for(tag)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if not self._pre_depth:
            data = _HTML_WHITESPACE.sub(" ", data)
            if self._at_line_start or self._pending_breaks:
                data = data.lstrip(" ")
            elif data.startswith(" ") and self._parts[-1].endswith(" "):
                data = data[1:]
        if not data:
            return
        if self._pending_breaks:
            if self._parts:
                self._parts[-1] = self._parts[-1].rstrip(" ")
                self._parts.append("\n" * self._pending_breaks)
            self._pending_breaks = 0
        self._parts.append(data)
        self._at_line_start = data.endswith("\n")

    def _break_for(self, tag: str) -> None:
        if tag in _PARAGRAPH_TAGS:
            self._pending_breaks = 2
        elif tag in _LINE_TAGS:
            self._pending_breaks = max(self._pending_breaks, 1)


def _docx_text(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError) as error:
        # NotImplementedError: a zip feature (version, compression) that zipfile cannot read.
        raise ExtractionError(_DAMAGED_DOCX) from error
    # The declared sizes can be trusted as a bound: zipfile stops reading a member at its
    # declared size. A real .docx unpacks to a few times its size; a zip bomb to thousands.
    if unpacked > DOCX_MAX_UNPACKED_BYTES or unpacked > DOCX_MAX_RATIO * len(data):
        raise ExtractionError("This .docx unpacks to far more than its size; refusing it.")
    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = list(_docx_paragraphs(document))
    except Exception as error:
        # python-docx raises a variety of errors (KeyError, ValueError, lxml's XMLSyntaxError,
        # its own PackageNotFoundError) on malformed packages; all mean the same to the user.
        raise ExtractionError(_DAMAGED_DOCX) from error
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph.strip())


def _docx_paragraphs(container: Document | _Cell) -> list[str]:
    """Paragraph texts in reading order, descending into table cells (and nested tables)."""
    texts: list[str] = []
    for block in container.iter_inner_content():
        if isinstance(block, Paragraph):
            texts.append(block.text)
        elif isinstance(block, Table):
            for cell in _unique_cells(block):
                texts.extend(_docx_paragraphs(cell))
    return texts


def _unique_cells(table: Table) -> list[_Cell]:
    # python-docx repeats a merged cell once per grid position it covers; its `_tc` element is
    # the single XML cell behind all the repeats. Keeping the elements in `seen` also keeps
    # lxml from recycling their Python proxies, so identity comparison is safe.
    seen: set[object] = set()
    cells: list[_Cell] = []
    for row in table.rows:
        for cell in row.cells:
            if cell._tc not in seen:
                seen.add(cell._tc)
                cells.append(cell)
    return cells


def _pdf_text(data: bytes) -> str:
    # pypdf raises many kinds of error on malformed files (its own PdfReadError, but also
    # KeyError, TypeError, RecursionError...); to the user they all mean a damaged PDF.
    try:
        reader = PdfReader(io.BytesIO(data))
        locked = reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED
    except DependencyError as error:
        # AES encryption needs the optional `cryptography` package even with no password.
        raise ExtractionError(_PROTECTED_PDF) from error
    except Exception as error:
        raise ExtractionError(_DAMAGED_PDF) from error
    if locked:
        raise ExtractionError(_PROTECTED_PDF)
    try:
        pages = list(reader.pages)
    except Exception as error:
        raise ExtractionError(_DAMAGED_PDF) from error
    if len(pages) > MAX_PDF_PAGES:
        raise ExtractionError(f"This PDF has more than {MAX_PDF_PAGES:,} pages; split it first.")
    try:
        return "\n\n".join(page.extract_text() for page in pages)
    except Exception as error:
        raise ExtractionError(_DAMAGED_PDF) from error
