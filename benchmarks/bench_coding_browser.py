"""Time the coding page in Chromium with a long source and many codings.

Run by hand: ``.venv/bin/python benchmarks/bench_coding_browser.py``. It creates a throwaway test
database (a SQLite file under /tmp, or a ``test_`` copy of the database that DATABASE_URL names),
a study with one 100,000-character source of realistic sentences and 2,000 overlapping codings by
three coders, and a fourth coder assigned to it. The app is served the way users get it: by
gunicorn (2 workers) with production settings (``DJANGO_DEBUG=0``, static files collected and
served compressed by whitenoise) on a SQLite file under /tmp; ``--server=thread`` serves it from
Django's threaded test live server instead (the figures before 2026-12-02 were measured so, and
that server's first byte is several times gunicorn's). Playwright drives Chromium
(TRUSTCODER_CHROMIUM, default /usr/bin/chromium). Printed, as medians over several runs:

- page load: navigation start to DOM interactive, to the ``coding-ready`` mark that coding.js sets
  on DOMContentLoaded, to DOMContentLoaded end, to the load event, to the first contentful paint
  and to the stripes drawn (the end of the ``coding-stripes`` measure); for the fourth coder (an
  empty layer), a coder in progress (about 670 highlights of their own) and the supervisor's
  "all coders" layer (2,000 highlights);
- save: from Enter (the ``coding-save-start`` mark) to the new highlight shown (the
  ``coding-highlight-shown`` mark, set when the saved coding is painted), for both coders;
- the supervisor switching layers (one coder's layer back to all 2,000 highlights, as JSON).

The database is destroyed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serve import start_gunicorn  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument(
    "--server",
    choices=("gunicorn", "thread"),
    default="gunicorn",
    help="gunicorn with production settings (default), or the threaded test live server",
)
ARGS = parser.parse_args()
SCRATCH = Path(tempfile.mkdtemp(prefix="trustcoder-bench-browser-"))
if ARGS.server == "gunicorn":
    # The settings gunicorn will run with, for this process too (it fills the database).
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{SCRATCH / 'bench.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "trustcoder.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "TRUSTCODER_CACHE_DIR": str(SCRATCH / "cache"),
            "TRUSTCODER_MEDIA_ROOT": str(SCRATCH / "media"),
        }
    )
else:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcoder.settings_test")
# Playwright's sync API runs an event loop in this thread; the ORM calls here stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

CHROMIUM = os.environ.get("TRUSTCODER_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "bench-password-not-secret"
TEXT_CHARS = 100_000
N_CODINGS = 2_000
LOAD_RUNS = 5
SAVE_RUNS = 7
SEED = 20240612

SUBJECTS = (
    "The delegation of the United States",
    "The spokesman of the Foreign Ministry",
    "The DPRK side",
    "Our government",
    "The chief negotiator",
    "The KEDO executive board",
    "The Republic of Korea",
    "The Chinese host delegation",
    "Kim Jong Un (김정은)",
    "The Secretary of State",
)
VERBS = (
    "stressed",
    "noted with regret",
    "reaffirmed",
    "made clear",
    "warned",
    "recalled",
    "acknowledged",
    "insisted",
)
CLAUSES = (
    "that heavy fuel oil deliveries must arrive on the schedule agreed in Geneva",
    "that the freeze of the graphite-moderated reactors will stay in place while talks continue",
    "that construction of the light-water reactors depends on funds the Congress has not voted",
    "that inspections can resume once written security assurances are given",
    "that sanctions relief and the normalisation of relations were promised in the framework",
    "that the other side's uranium-enrichment programme violates the spirit of the agreement",
    "that the next round of talks will be held in Beijing on the agreed date",
    "that no agreement will last unless it answers the other side's concern for its security",
    "that the disablement of the Yongbyon facilities is ahead of schedule",
    "that a declaration of all nuclear programmes is a precondition for further steps",
    "that the verification protocol must include sampling at undeclared sites",
    "that the delegation will walk out if the agenda is changed without consent",
)
TAILS = (
    "",
    ", and called on the other side to respond in kind",
    ", despite the difficulties of the past months",
    ", according to the statement released in the evening",
    ", as both sides had accepted in the joint statement",
)


def source_text(rng: random.Random) -> str:
    """About TEXT_CHARS characters of statement-like sentences in paragraphs."""
    paragraphs: list[str] = []
    length = 0
    n = 0
    while length < TEXT_CHARS:
        sentences = []
        for _ in range(rng.randint(3, 7)):
            n += 1
            sentences.append(
                f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(CLAUSES)}"
                f"{rng.choice(TAILS)} (item {n})."
            )
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(paragraphs)[:TEXT_CHARS].rsplit(" ", 1)[0] + "."


def word_bounds(text: str, start: int, end: int) -> list[tuple[int, int]]:
    bounds = []
    i = start
    while i < end:
        while i < end and text[i].isspace():
            i += 1
        j = i
        while j < end and not text[j].isspace():
            j += 1
        if j > i:
            bounds.append((i, j))
        i = j
    return bounds


def random_span(rng: random.Random, text: str, segments: list[tuple[int, int]]) -> tuple[int, int]:
    """A whole sentence, a run of 2-3 sentences, or a few words inside a sentence."""
    i = rng.randrange(len(segments))
    kind = rng.random()
    if kind < 0.4:
        return segments[i]
    if kind < 0.6:
        j = min(len(segments) - 1, i + rng.randint(1, 2))
        return segments[i][0], segments[j][1]
    words = word_bounds(text, *segments[i])
    a = rng.randrange(len(words))
    b = min(len(words) - 1, a + rng.randint(1, 8))
    return words[a][0], words[b][1]


def build_data():
    """The study, the source, 2,000 codings by three coders; returns the source and the URL."""
    from django.contrib.auth import get_user_model

    from negotiations.coding import assignments as assignment_services
    from negotiations.models import (
        AssignmentStatus,
        Code,
        Coding,
        Negotiation,
        Role,
        Stance,
    )
    from negotiations.sources import services as source_services
    from negotiations.studies import services as study_services

    rng = random.Random(SEED)
    user_model = get_user_model()

    def user(name: str):
        u = user_model(username=name, email=f"{name}@example.org")
        u.set_password(PASSWORD)
        u.save()
        return u

    owner = user("olivia")
    study = study_services.study_create(name="Benchmark study", slug="bench", created_by=owner)
    supervisor = user("sam")
    study_services.membership_add(
        study=study, identifier="sam", role=Role.SUPERVISOR, actor_role="owner"
    )
    coders = []
    for name in ("cora", "cody", "carl", "dana"):
        coders.append(user(name))
        study_services.membership_add(
            study=study, identifier=name, role=Role.CODER, actor_role="owner"
        )
    us = study_services.party_create(study=study, code="US", name="United States")
    dprk = study_services.party_create(study=study, code="DPRK", name="North Korea")
    negotiation = Negotiation.objects.create(study=study, name="Agreed Framework", slug="af")
    negotiation.parties.add(us, dprk)
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
            negotiation=negotiation, title="Long statement", speaker_party=us
        ),
        text=source_text(rng),
        created_by=owner,
    )
    text = source.text
    segments = list(source.segments.order_by("index").values_list("start", "end"))
    codes = list(Code.objects.filter(study=study, code_set__enabled=True, archived=False))
    codings = []
    seen = set()  # one coding per coder, span, code, stance and party, as the database wants
    while len(codings) < N_CODINGS:
        n = len(codings)
        start, end = random_span(rng, text, segments)
        code, stance, party = rng.choice(codes), rng.choice(Stance.values), rng.choice((us, dprk))
        key = (n % 3, start, end, code.pk, stance, party.pk)
        if key in seen:
            continue
        seen.add(key)
        codings.append(
            Coding(
                source=source,
                coder=coders[n % 3],
                code=code,
                start=start,
                end=end,
                quote=text[start:end],
                stance=stance,
                demonstrating_party=party,
                memo="Checked against the cable." if n % 10 == 0 else "",
            )
        )
    Coding.objects.bulk_create(codings, batch_size=500)
    statuses = {
        "cora": AssignmentStatus.SUBMITTED,
        "cody": AssignmentStatus.SUBMITTED,
        "carl": AssignmentStatus.IN_PROGRESS,
        "dana": AssignmentStatus.ASSIGNED,
    }
    for coder in coders:
        assignment = assignment_services.assignment_create(
            source=source, coder=coder, assigned_by=supervisor
        )
        assignment.status = statuses[coder.username]
        assignment.save(update_fields=["status"])
    assert all(c.quote == text[c.start : c.end] for c in Coding.objects.filter(source=source))
    return source, len(text), len(segments)


# In the browser ---------------------------------------------------------------------------------

NAV_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const ready = performance.getEntriesByName("coding-ready")[0];
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const stripes = performance.getEntriesByName("coding-stripes").at(-1);
  return {
    ttfb: nav.responseStart,
    response_end: nav.responseEnd,
    interactive: nav.domInteractive,
    coding_ready: ready ? ready.startTime : null,
    first_paint: paint ? paint.startTime : 0,
    stripes: stripes ? stripes.startTime + stripes.duration : 0,
    dcl_end: nav.domContentLoadedEventEnd,
    load_end: nav.loadEventEnd,
    html_bytes: nav.decodedBodySize,
    highlights: Array.from(CSS.highlights.values()).reduce((n, h) => n + h.size, 0),
    items: document.querySelectorAll("#coding-list .coding-item").length,
  };
}"""
# From a mark to the last coding-save-shown mark, split at the end of the htmx request's response.
SPLIT_JS = """([mark, path, end]) => {
  const start = performance.getEntriesByName(mark).at(-1);
  const shown = performance.getEntriesByName(end).at(-1);
  const request = performance.getEntriesByType("resource")
    .filter((e) => e.name.includes(path)).at(-1);
  return {
    total: shown.startTime - start.startTime,
    response: request.responseEnd - start.startTime,
    swap: shown.startTime - request.responseEnd,
  };
}"""
SHOWN_COUNT = "performance.getEntriesByName('coding-highlight-shown').length"
LAYER_COUNT = "performance.getEntriesByName('coding-layer-shown').length"


def wait_until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not answer in time")
        time.sleep(0.005)


def log_in(context, base_url: str, username: str):
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return page


def measure_loads(page, url: str) -> dict[str, float]:
    page.goto(url, wait_until="load")  # warm-up: caches, the first connection
    runs = []
    for _ in range(LOAD_RUNS):
        page.goto(url, wait_until="load")
        # The stripes are drawn in the first frames after the load (none without codings).
        wait_until(lambda: page.evaluate(NAV_JS)["load_end"] > 0)
        page.wait_for_timeout(500)
        runs.append(page.evaluate(NAV_JS))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def measure_saves(page, url: str) -> list[dict[str, float]]:
    page.goto(url, wait_until="load")
    runs = []
    for _ in range(SAVE_RUNS + 1):  # the first save is a warm-up
        before = page.evaluate(SHOWN_COUNT)
        page.keyboard.press("j")
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        wait_until(lambda before=before: page.evaluate(SHOWN_COUNT) > before)
        runs.append(
            page.evaluate(SPLIT_JS, ["coding-save-start", "/codings/", "coding-highlight-shown"])
        )
    return runs[1:]


def measure_layer_switch(page, url: str, coder_id: int) -> list[dict[str, float]]:
    page.goto(url, wait_until="load")
    runs = []
    for _ in range(LOAD_RUNS):
        for layer in (str(coder_id), "all"):
            before = page.evaluate(LAYER_COUNT)
            page.evaluate("performance.mark('bench-switch')")
            page.select_option("#layer", layer)
            wait_until(lambda before=before: page.evaluate(LAYER_COUNT) > before)
        runs.append(page.evaluate(SPLIT_JS, ["bench-switch", "layer=all", "coding-layer-shown"]))
    return runs


def print_load(label: str, figures: dict[str, float]) -> None:
    print(
        f"  {label:<44} interactive {figures['interactive']:7.0f} ms | "
        f"coding-ready {figures['coding_ready']:7.0f} ms | "
        f"DCL end {figures['dcl_end']:7.0f} ms | load {figures['load_end']:7.0f} ms | "
        f"first paint {figures['first_paint']:5.0f} ms | stripes {figures['stripes']:5.0f} ms | "
        f"TTFB {figures['ttfb']:6.0f} ms | HTML {figures['html_bytes'] / 1024:6.0f} KiB | "
        f"{figures['highlights']:.0f} highlighted runs, {figures['items']:.0f} list items"
    )


def print_times(label: str, runs: list[dict[str, float]]) -> None:
    totals = [r["total"] for r in runs]
    print(
        f"  {label:<44} median {statistics.median(totals):7.0f} ms "
        f"(min {min(totals):.0f}, max {max(totals):.0f}, n={len(totals)}); "
        f"request to response end {statistics.median(r['response'] for r in runs):.0f} ms, "
        f"swap and settle {statistics.median(r['swap'] for r in runs):.0f} ms"
    )


def run_browser(base_url: str, source) -> None:
    from playwright.sync_api import sync_playwright

    from negotiations.models import Coding

    slug = source.study.slug
    url = f"{base_url}/studies/{slug}/sources/{source.pk}/code/"
    carl = Coding.objects.filter(source=source, coder__username="carl")
    carl_count = carl.count()
    cody_id = Coding.objects.filter(source=source, coder__username="cody").first().coder_id
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            contexts = {
                name: browser.new_context(viewport={"width": 1400, "height": 900})
                for name in ("dana", "carl", "sam")
            }
            pages = {name: log_in(ctx, base_url, name) for name, ctx in contexts.items()}

            print("\nPage load, median of", LOAD_RUNS, "(times from navigation start)")
            print_load("coder, own layer empty (dana)", measure_loads(pages["dana"], url))
            print_load(
                f"coder in progress, {carl_count} own codings (carl)",
                measure_loads(pages["carl"], url),
            )
            print_load(
                "supervisor, all coders (sam)",
                measure_loads(pages["sam"], url + "?layer=all"),
            )

            print("\nSave: Enter (coding-save-start) to highlight shown (coding-save-shown)")
            print_times("coder, own layer (dana)", measure_saves(pages["dana"], url))
            print_times(
                f"coder, own layer of {carl_count}+ codings (carl)",
                measure_saves(pages["carl"], url),
            )

            print("\nLayer switch (codings as JSON), one coder's layer -> all coders (sam)")
            print_times(
                "supervisor, to 2,000+ highlights",
                measure_layer_switch(pages["sam"], url + "?layer=all", cody_id),
            )
        finally:
            browser.close()


def print_data(source, n_chars: int, n_segments: int, started: float) -> None:
    print(
        f"Data: one source of {n_chars:,} characters in {n_segments:,} sentences, "
        f"{N_CODINGS:,} codings by 3 coders ({connection.vendor}); "
        f"built in {time.perf_counter() - started:.1f} s; served by {ARGS.server}"
    )


def main_gunicorn() -> None:
    from django.core.management import call_command

    server = None
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--no-input", verbosity=0)
        source, n_chars, n_segments = build_data()
        print_data(source, n_chars, n_segments, started)
        connection.close()
        server, port = start_gunicorn(env=dict(os.environ))
        base_url = f"http://127.0.0.1:{port}"
        run_browser(base_url, source)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        connection.close()
        shutil.rmtree(SCRATCH, ignore_errors=True)


def main_thread() -> None:
    from django.test.testcases import LiveServerThread, _StaticFilesHandler
    from django.test.utils import setup_test_environment, teardown_test_environment

    database = settings.DATABASES["default"]
    tmp_file = None
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # A file, not memory: the live server thread opens its own connection to it.
        tmp_file = str(SCRATCH / "bench.sqlite3")
        database.setdefault("TEST", {})["NAME"] = tmp_file
        connection.settings_dict.setdefault("TEST", {})["NAME"] = tmp_file
    setup_test_environment()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost", "127.0.0.1"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    server = None
    try:
        started = time.perf_counter()
        source, n_chars, n_segments = build_data()
        print_data(source, n_chars, n_segments, started)
        connection.close()
        server = LiveServerThread("localhost", _StaticFilesHandler)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        run_browser(f"http://localhost:{server.port}", source)
    finally:
        if server is not None:
            server.terminate()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        shutil.rmtree(SCRATCH, ignore_errors=True)


def main() -> None:
    if ARGS.server == "gunicorn":
        main_gunicorn()
    else:
        main_thread()


if __name__ == "__main__":
    main()
