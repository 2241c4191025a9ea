"""Time a 100,000-row CSV import through the web under gunicorn, with one background worker.

Run by hand against a PostgreSQL database it may fill (a new study is made each run):
``DATABASE_URL=postgres://user@host/db .venv/bin/python benchmarks/bench_background_import.py``.
It migrates, starts gunicorn (3 sync workers, production settings, default 30 s timeout) and one
``db_worker``, as ``make serve`` does, then through HTTP as a supervisor:

1. uploads a 100,000-row file in which every row has a problem, waits for the check, and times
   the preview page at its first, middle and last page of problems;
2. uploads a valid 100,000-row file, polls the preview while it is checked, confirms, polls the
   job page while it imports, and prints the total time, rows/s, the slowest request, how often
   the progress bar moved and whether gunicorn killed a worker;
3. imports a third 100,000-row file with ``manage.py import_sources`` for comparison.
"""

from __future__ import annotations

import csv
import http.cookiejar
import io
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
N_ROWS = 100_000
PORT = int(os.environ.get("BENCH_PORT", "8713"))
BASE_URL = f"http://127.0.0.1:{PORT}"

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    # `make bench` runs every script; this one needs a server that gunicorn and a worker share.
    print("skipped: set DATABASE_URL to a PostgreSQL database this benchmark may fill.")
    sys.exit(0)
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ["DJANGO_SETTINGS_MODULE"] = "trustcoder.settings"
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from negotiations.models import (  # noqa: E402
    Membership,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    PhaseKind,
    Role,
    Source,
    Study,
)


def rows_csv(first: int, *, bad: bool = False) -> bytes:
    """N_ROWS short statements (the 10 MB upload limit allows ~100 bytes a row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["negotiation", "phase", "title", "date", "speaker_party", "source_type", "text"]
    )
    for n in range(first, first + N_ROWS):
        writer.writerow(
            [
                "AF",
                "Agreement",
                f"Statement {n}",
                "1994-10-21",
                "US",
                "nonsense" if bad else "",
                f"Statement {n}. The envoy notes the fuel schedule.",
            ]
        )
    return out.getvalue().encode()


class Browser:
    """A logged-in HTTP client that times every request it makes."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )
        self.times: list[tuple[float, str]] = []

    def request(self, method: str, path: str, data: bytes | None = None, headers=None):
        req = urllib.request.Request(BASE_URL + path, data=data, method=method)  # noqa: S310
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        started = time.perf_counter()
        try:
            response = self.opener.open(req, timeout=120)
            status, body, location = response.status, response.read(), None
        except urllib.error.HTTPError as exc:
            status, body, location = exc.code, exc.read(), exc.headers.get("Location")
        elapsed = time.perf_counter() - started
        self.times.append((elapsed, f"{method} {path.split('?')[0]}"))
        return status, body.decode(), location

    def csrf(self, html: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def login(self, username: str, password: str) -> None:
        _, html, _ = self.request("GET", "/accounts/login/")
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": self.csrf(html)}
        ).encode()
        status, _, _ = self.request(
            "POST", "/accounts/login/", data, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert status == 302, status

    def upload(self, path: str, filename: str, content: bytes) -> str:
        _, html, _ = self.request("GET", path)
        boundary = secrets.token_hex(16)
        part = '--{b}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n{head}\r\n'
        body = (
            part.format(b=boundary, name="csrfmiddlewaretoken", extra="", head="").encode()
            + self.csrf(html).encode()
            + b"\r\n"
            + part.format(
                b=boundary,
                name="file",
                extra=f'; filename="{filename}"',
                head="Content-Type: text/csv\r\n",
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, html, location = self.request(
            "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert status == 302, (status, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', html))
        return location


def progress_of(html: str) -> str:
    found = re.search(r'<progress max="(\d+)" value="(\d+)"', html)
    return f"{found.group(2)}/{found.group(1)}" if found else ""


def wait_while(browser: Browser, path: str, busy: str, seen: set[str]) -> str:
    while True:
        _, html, _ = browser.request("GET", path, headers={"HX-Request": "true"})
        seen.add(progress_of(html))
        if busy not in html:
            return html
        time.sleep(1)


def main() -> None:
    call_command("migrate", verbosity=0)
    slug = f"bench-{int(time.time())}"
    from django.contrib.auth.models import User

    username = slug
    user = User.objects.create_user(username, password=username + "-pass")
    study = Study.objects.create(name=f"Benchmark {slug}", slug=slug, created_by=user)
    Membership.objects.create(study=study, user=user, role=Role.SUPERVISOR)
    negotiation = Negotiation.objects.create(study=study, name="Agreed Framework", slug="af")
    Phase.objects.create(negotiation=negotiation, name="Agreement", kind=PhaseKind.AGREEMENT)
    party = Party.objects.create(study=study, code="US", name="United States")
    NegotiationParty.objects.create(negotiation=negotiation, party=party)

    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    env = dict(os.environ)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "trustcoder.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "3",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=log,
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(BASE_URL + "/accounts/login/", timeout=2)  # noqa: S310
                break
            except OSError:
                time.sleep(0.3)
        browser = Browser()
        browser.login(username, username + "-pass")
        import_path = f"/studies/{slug}/sources/import/"
        print(f"database: postgresql; gunicorn 3 workers + 1 db_worker; {N_ROWS:,} rows")

        # 1. A file with a problem in every row: the stored preview, paged.
        bad = rows_csv(0, bad=True)
        preview = browser.upload(import_path, "problems.csv", bad)
        wait_while(browser, preview, "A worker is checking", set())
        _, html, _ = browser.request("GET", preview)
        n_pages = int(re.search(r"Page 1 of (\d+)", html).group(1))
        for page in (1, n_pages // 2, n_pages):
            times = []
            for _ in range(5):
                started = time.perf_counter()
                status, html, _ = browser.request("GET", f"{preview}?page={page}")
                times.append(time.perf_counter() - started)
                assert status == 200 and "Unknown source type" in html
            print(
                f"preview of {N_ROWS:,} problems, page {page} of {n_pages}: "
                f"median {sorted(times)[2] * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms"
            )

        # 2. A valid file: check, confirm, import, all through the web.
        browser.times.clear()
        good = rows_csv(N_ROWS)
        print(f"file: {len(good) / 1e6:.1f} MB")
        started = time.perf_counter()
        preview = browser.upload(import_path, "statements.csv", good)
        seen: set[str] = set()
        wait_while(browser, preview, "A worker is checking", seen)
        checked = time.perf_counter() - started
        _, html, _ = browser.request("GET", preview)
        assert f"{N_ROWS} rows checked: no problems." in html, html[:2000]
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": browser.csrf(html)}).encode()
        status, _, job_path = browser.request(
            "POST", preview, data, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert status == 302 and "/jobs/" in job_path, (status, job_path)
        html = wait_while(browser, job_path, 'hx-trigger="every 1s"', seen)
        total = time.perf_counter() - started
        assert "job-succeeded" in html, html
        imported = Source.objects.filter(study=study).count()
        assert imported == N_ROWS, imported
        slowest, what = max(browser.times)
        upload_time = next(t for t, w in browser.times if w == f"POST {import_path}")
        others = max(t for t, w in browser.times if w != f"POST {import_path}")
        print(
            f"check: {checked:.1f} s; check + import: {total:.1f} s, "
            f"{N_ROWS / total:,.0f} rows/s overall"
        )
        print(f"requests: {len(browser.times)}, slowest {slowest * 1000:.0f} ms ({what})")
        print(
            f"upload of the file: {upload_time * 1000:.0f} ms; slowest other request "
            f"(polls, preview, confirmation): {others * 1000:.0f} ms"
        )
        print(f"distinct progress values seen while polling: {len(seen - {''})}")
        log.flush()
        log.seek(0)
        print(f"gunicorn worker timeouts: {log.read().count('WORKER TIMEOUT')}")
    finally:
        worker.terminate()
        server.terminate()
        worker.wait(timeout=60)
        server.wait(timeout=60)

    # 3. The same size through the command line (no web, no worker).
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as handle:
        handle.write(rows_csv(2 * N_ROWS))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "import_sources", "--study", slug, handle.name],
        cwd=BASE_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    print(f"import_sources of {N_ROWS:,} rows: {elapsed:.1f} s, {N_ROWS / elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main()
