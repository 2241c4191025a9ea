"""Adding one source by uploading a file on the `source_create` page.

Each file is built in the test and posted as multipart data by a supervisor. A refused file shows
its reason on the form with status 422 and creates nothing.
"""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from negotiations.models import Segment, Source
from negotiations.sources import services as source_services
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory
from tests.files import make_pdf

pytestmark = pytest.mark.django_db

WESTERN = "The envoy called the offer na\u00efve \u2013 a \u201ccaf\u00e9\u201d proposal."
KOREAN = "김정은 위원장은 회담을 제안했다. 미국은 응했다."


def docx_bytes(tmp_path: Path, *paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    path = tmp_path / "statement.docx"
    document.save(str(path))
    return path.read_bytes()


@pytest.fixture
def setup(members):
    negotiation = NegotiationFactory(
        study=members.study, name="Agreed Framework", slug="agreed-framework"
    )
    phase = PhaseFactory(negotiation=negotiation, name="Agreement")
    party = PartyFactory(study=members.study, code="DPRK", name="North Korea")
    negotiation.parties.add(party)
    return members, negotiation, phase, party


@pytest.fixture
def post_file(setup, clients):
    """POST a file to the add-source page as the supervisor; returns the response."""
    _members, negotiation, phase, party = setup

    def post(filename: str, content: bytes, **fields: str):
        data = {
            "negotiation": negotiation.pk,
            "phase": phase.pk,
            "title": "Statement by the DPRK Foreign Ministry",
            "speaker": "Spokesman",
            "speaker_party": party.pk,
            "date": "1994-10-21",
            "source_type": "official_statement",
            "citation": "KCNA, illustrative",
            "url": "https://example.org/statement",
            "language": "en",
            "text": "",
            "file": SimpleUploadedFile(filename, content),
            **fields,
        }
        return clients["supervisor"].post(
            reverse("negotiations:source_create", args=["test-study"]), data
        )

    return post


def created(response) -> Source:
    assert response.status_code == 302, response.content.decode()[:2000]
    source = Source.objects.get()
    assert response["Location"] == reverse(
        "negotiations:source_detail", args=["test-study", source.pk]
    )
    return source


# Accepted files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("utf-8", (WESTERN + " 🙂 " + KOREAN).encode("utf-8")),
        ("utf-8 with BOM", b"\xef\xbb\xbf" + (WESTERN + " " + KOREAN).encode("utf-8")),
        ("utf-16", (WESTERN + " " + KOREAN).encode("utf-16")),
        ("utf-16 without BOM", (WESTERN + " " + KOREAN).encode("utf-16-le")),
        ("windows-1252", WESTERN.encode("cp1252")),
        ("euc-kr", KOREAN.encode("euc-kr")),
    ],
)
def test_text_files_in_common_encodings(post_file, encoding, content):
    expected = content.decode(
        {
            "utf-8 with BOM": "utf-8-sig",
            "utf-16 without BOM": "utf-16-le",
            "windows-1252": "cp1252",
        }.get(encoding, encoding)
    )

    source = created(post_file("statement.txt", content))

    assert source.text == expected.lstrip("\ufeff")
    assert "\ufeff" not in source.text
    assert source.original_filename == "statement.txt"
    assert source.text_sha256 == source_services.text_digest(source.text)
    segments = [source.text[s.start : s.end] for s in source.segments.order_by("index")]
    assert segments[0].startswith(expected.lstrip("\ufeff")[:10])
    assert "".join(segments).replace(" ", "") == source.text.replace(" ", "")


def test_text_file_is_normalised(post_file):
    content = ("Caf" + "e\u0301 talks.\r\nA second line.\r\n").encode("utf-16")

    source = created(post_file("statement.txt", content))

    assert source.text == "Café talks.\nA second line."
    assert [source.text[s.start : s.end] for s in source.segments.order_by("index")] == [
        "Café talks.",
        "A second line.",
    ]


def test_metadata_is_saved_with_the_upload(setup, post_file):
    members, negotiation, phase, party = setup

    source = created(post_file("statement.txt", b"We will freeze the reactor. We expect fuel."))

    assert (source.study, source.negotiation, source.phase, source.speaker_party) == (
        members.study,
        negotiation,
        phase,
        party,
    )
    assert str(source.date) == "1994-10-21"
    assert source.created_by == members.supervisor
    assert source.segments.count() == 2


def test_markdown_is_kept_as_written(post_file):
    content = b"# Statement\n\n**We agree** to the *framework*.\n"

    source = created(post_file("statement.md", content))

    assert source.text == "# Statement\n\n**We agree** to the *framework*."


def test_html_is_reduced_to_text_without_scripts(post_file):
    content = (
        b"<!doctype html><html><head><title>Page title</title>"
        b"<script>var secret = 'in the head';</script><style>p { color: red }</style></head>"
        b"<body><h1>Statement</h1><p>We agree to the <b>freeze</b>.</p>"
        b"<script>alert('in the body')</script><p>Fuel &amp; reactors follow.</p></body></html>"
    )

    source = created(post_file("statement.html", content))

    assert source.text == "Statement\n\nWe agree to the freeze.\n\nFuel & reactors follow."
    for hidden in ("secret", "alert", "color", "Page title", "<"):
        assert hidden not in source.text


def test_docx(post_file, tmp_path):
    content = docx_bytes(tmp_path, "First paragraph of the statement.", "", "Second paragraph.")

    source = created(post_file("statement.docx", content))

    assert source.text == "First paragraph of the statement.\n\nSecond paragraph."
    assert source.segments.count() == 2


def test_pdf_with_a_text_layer(post_file):
    content = make_pdf(b"BT /F1 12 Tf 72 720 Td (Agreed Framework text) Tj ET")

    source = created(post_file("framework.pdf", content))

    assert source.text == "Agreed Framework text"
    assert source.original_filename == "framework.pdf"


# Refused files ----------------------------------------------------------------------------------


def _zip_bomb() -> bytes:
    # 4 MB of zeros packs into a few kilobytes: over the allowed unpacking ratio.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", bytes(4 * 1024 * 1024))
    return buffer.getvalue()


REFUSALS = {
    "empty file": ("statement.txt", b"", "The submitted file is empty."),
    "binary data named .txt": (
        "statement.txt",
        random.Random(0).randbytes(4096),
        "This file looks like binary data, not text.",
    ),
    "undecodable text": (
        "statement.txt",
        bytes(range(0x80, 0x100)),
        "The text could not be decoded; save it as UTF-8 and try again.",
    ),
    "corrupt docx": (
        "statement.docx",
        b"PK\x03\x04 this is not a Word document",
        "This .docx file is damaged or not a Word document.",
    ),
    "docx zip bomb": (
        "statement.docx",
        _zip_bomb(),
        "This .docx unpacks to far more than its size; refusing it.",
    ),
    "pdf without a text layer": (
        "scan.pdf",
        make_pdf(b"0 0 1 rg 72 72 200 100 re f"),
        "This PDF has no text layer; run OCR first.",
    ),
    "damaged pdf": ("statement.pdf", b"%PDF-1.4\nnot really", "This PDF is damaged or not a PDF."),
    "unsupported extension": (
        "statement.rtf",
        b"{\\rtf1 We agree.}",
        "Unsupported file type '.rtf'; use .txt, .md, .html, .docx or .pdf.",
    ),
    "no extension": (
        "statement",
        b"We agree.",
        "The file name has no extension; use .txt, .md, .html, .docx or .pdf.",
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refused_file(post_file, name):
    filename, content, message = REFUSALS[name]

    response = post_file(filename, content)

    assert response.status_code == 422
    assert response.context["form"].errors["file"] == [message]
    assert f'<p class="error" role="alert">{escape(message)}</p>' in response.content.decode()
    assert Source.objects.count() == 0
    assert Segment.objects.count() == 0


def test_file_over_the_size_limit(post_file, settings):
    settings.TRUSTCODER_MAX_UPLOAD_BYTES = 1024 * 1024
    content = b"We agree to freeze the reactor. " * 40_000
    assert len(content) > 1024 * 1024

    response = post_file("statement.txt", content)

    assert response.status_code == 422
    assert "The file is larger than the 1 MB limit." in response.content.decode()
    assert Source.objects.count() == 0


def test_text_over_the_character_limit(post_file, settings):
    settings.TRUSTCODER_MAX_TEXT_CHARS = 50

    response = post_file("statement.txt", b"We agree to freeze the reactor. " * 3)

    assert response.status_code == 422
    assert "The text is longer than the limit of 50 characters." in response.content.decode()
    assert Source.objects.count() == 0


def test_same_text_twice_is_refused(post_file):
    created(post_file("statement.txt", b"We agree to freeze the reactor."))

    # The same text in another encoding and with other line endings is still the same text.
    response = post_file("copy.txt", "We agree to freeze the reactor.\r\n".encode("utf-16"))

    assert response.status_code == 422
    source = Source.objects.get()
    assert escape(f"already in the study as source #{source.pk}") in response.content.decode()


def test_text_and_file_together_are_refused(post_file):
    response = post_file("statement.txt", b"From the file.", text="Pasted as well.")

    assert response.status_code == 422
    assert "Paste the text or choose a file, not both." in response.content.decode()
    assert Source.objects.count() == 0


@pytest.mark.parametrize(("role", "status"), [("coder", 403), ("reader", 403), ("outsider", 404)])
def test_only_managers_may_upload(setup, clients, role, status):
    _members, negotiation, _phase, _party = setup
    url = reverse("negotiations:source_create", args=["test-study"])
    data = {
        "negotiation": negotiation.pk,
        "title": "T",
        "source_type": "other",
        "language": "en",
        "file": SimpleUploadedFile("s.txt", b"We agree."),
    }

    assert clients[role].get(url).status_code == status
    assert clients[role].post(url, data).status_code == status
    assert Source.objects.count() == 0


# Escaping ---------------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def test_markup_in_a_source_is_shown_escaped(setup, clients, post_file):
    content = f"The leaflet read {SCRIPT} in bold. Then {IMG} appeared.".encode()
    source = created(post_file("leaflet.txt", content, title=f"Leaflet {IMG}"))
    assert SCRIPT in source.text  # stored as written: it is text, not markup

    supervisor = clients["supervisor"]
    pages = {
        "detail": supervisor.get(
            reverse("negotiations:source_detail", args=["test-study", source.pk])
        ),
        "list": supervisor.get(reverse("negotiations:source_list", args=["test-study"])),
        "list partial": supervisor.get(
            reverse("negotiations:source_list", args=["test-study"]),
            headers={"HX-Request": "true"},
        ),
        "coder's view": clients["coder"].get(
            reverse("negotiations:source_detail", args=["test-study", source.pk])
        ),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert SCRIPT not in html, name
        assert IMG not in html, name
        assert "onerror=alert(1)>" not in html, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, name
    assert '<div id="results">' in pages["list partial"].content.decode()
    assert "<html" not in pages["list partial"].content.decode()
