"""TrustCoder and Taguette 1.5.2 side by side, in one run, on the same workload.

Run by hand (Taguette needs its own virtual environment, see ``../shared/peer/README.md``)::

    .venv/bin/python benchmarks/bench_vs_taguette.py --taguette-python TAGUETTE_VENV/bin/python

Each round runs the peer harness (``../shared/peer/taguette_bench.py``) and then the same requests
against TrustCoder under gunicorn with production settings (2 workers), on SQLite and on
PostgreSQL (``--postgres URL`` of a server where a scratch database may be created). The workload
is the peer's: ``make_text`` and ``plan_highlights`` (code points here, UTF-8 bytes there). Times
are what a browser's requests take, from sending to the whole response read: opening a source is
its page (everything needed before the highlights are painted, the code colours included; the
scripts are cached), a save is the htmx POST, the export is the CSV download. The medians of each
round are combined by their median; the table prints the ratio TrustCoder / Taguette.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from serve import start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
PEER = next(
    (p / "shared" / "peer" for p in ROOT.parents if (p / "shared" / "peer").is_dir()),
    ROOT.parent / "shared" / "peer",
)
PASSWORD = "bench-password-1"
SCALES = (0, 200, 4000)


# The TrustCoder data, made in a subprocess for one database -----------------------------------


def prepare(chars: int, highlights: int, seed: int) -> None:
    """Migrate and fill the database of DATABASE_URL; print the ids the timings need as JSON."""
    import django

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(PEER))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcoder.settings")
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from taguette_bench import make_text, plan_highlights

    from negotiations.models import Assignment, AssignmentStatus, Code, Coding, Role
    from negotiations.sources import services as source_services
    from negotiations.studies import services as study_services

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--no-input", verbosity=0)
    owner = User.objects.create_user("olivia", password=PASSWORD)
    ids: dict = {"sources": {}}
    for slug in ("bench", "scale"):
        study = study_services.study_create(name=f"Study {slug}", slug=slug, created_by=owner)
        for name, role in (("sam", Role.SUPERVISOR), ("cora", Role.CODER), ("cody", Role.CODER)):
            if not User.objects.filter(username=name).exists():
                User.objects.create_user(name, password=PASSWORD)
            study_services.membership_add(
                study=study, identifier=name, role=role, actor_role=Role.OWNER
            )
        party = study_services.party_create(study=study, code="US", name="United States")
        negotiation = study_services.negotiation_create(
            study=study, name="Interviews", parties=[party]
        )
        codes = list(Code.objects.filter(study=study).order_by("pk"))
        counts = (highlights,) if slug == "bench" else SCALES
        for m in counts:
            text = make_text(chars, seed) + f" ({slug} {m})"
            source = source_services.source_create(
                study=study,
                metadata=source_services.SourceMetadata(
                    negotiation=negotiation, title=f"Transcript {m}", speaker_party=party
                ),
                text=text,
                created_by=owner,
            )
            text = source.text

            class Doc:  # the peer's plan, in code points: byte_at is the identity
                pass

            doc = Doc()
            doc.text = text
            doc.byte_at = range(len(text) + 1)
            coders = [User.objects.get(username=n) for n in ("cora", "cody")]
            for coder in coders:
                Assignment.objects.create(
                    source=source, coder=coder, status=AssignmentStatus.IN_PROGRESS
                )
            Coding.objects.bulk_create(
                [
                    Coding(
                        source=source,
                        coder=coders[i % 2],
                        code=codes[tag % len(codes)],
                        start=start,
                        end=end,
                        quote=text[start:end],
                        stance="for" if i % 3 else "against",
                        demonstrating_party=party,
                    )
                    for i, (start, end, tag) in enumerate(plan_highlights(doc, m, 10, seed + m))
                ],
                batch_size=1000,
            )
            ids["sources"][f"{slug}-{m}"] = source.pk
        ids[f"{slug}-code"] = codes[0].pk
        ids[f"{slug}-party"] = party.pk
    print(json.dumps(ids))


# A small browser-like client ------------------------------------------------------------------


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), data

    def csrf(self) -> str:
        return self.cookies.get("csrftoken", "")

    def log_in(self, username: str) -> None:
        self.request("GET", "/accounts/login/")
        body = urllib.parse.urlencode(
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()}
        )
        status, _, _ = self.request(
            "POST",
            "/accounts/login/",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302, f"log-in of {username} failed ({status})"


class TrustCoder:
    """One database, migrated and filled, served by gunicorn with production settings."""

    def __init__(self, label: str, database_url: str, args) -> None:
        self.label = label
        self.workdir = Path(tempfile.mkdtemp(prefix=f"trustcoder_bench_{label}_"))
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "trustcoder.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "TRUSTCODER_CACHE_DIR": str(self.workdir / "cache"),
        }
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--prepare",
                f"--chars={args.chars}",
                f"--highlights={args.highlights}",
                f"--seed={args.seed}",
            ],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        self.ids = json.loads(out.stdout.strip().splitlines()[-1])
        self.server, self.port = start_gunicorn(env=self.env, workers=2)
        self.supervisor = Client(self.port)
        self.supervisor.log_in("sam")
        self.coder = Client(self.port)
        self.coder.log_in("cora")
        self.saves = 0

    def page(self, key: str) -> str:
        slug = key.split("-")[0]
        return f"/studies/{slug}/sources/{self.ids['sources'][key]}/code/?layer=all"

    def open(self, key: str) -> int:
        """The page, which carries the code colours; returns the bytes received."""
        status, _, page = self.supervisor.request("GET", self.page(key))
        assert status == 200, status
        assert "codebook.css" not in page.decode(), "the page needs a second request"
        return len(page)

    def save(self) -> int:
        source = self.ids["sources"][f"bench-{self.args_highlights}"]
        text_start = 40 + (self.saves * 97) % 90_000
        self.saves += 1
        path = f"/studies/bench/sources/{source}/codings/"
        # The quote must be text[start:end]: ask the page once for the text, then reuse it.
        start, end = self.span(text_start)
        body = urllib.parse.urlencode(
            {
                "start": start,
                "end": end,
                "quote": self.text[start:end],
                "code": self.ids["bench-code"],
                "stance": "for",
                "demonstrating_party": self.ids["bench-party"],
                "strength": "",
                "memo": "",
            }
        )
        status, _, data = self.coder.request(
            "POST",
            path,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "HX-Request": "true",
                "X-CSRFToken": self.coder.csrf(),
                "Referer": f"http://127.0.0.1:{self.port}/",
            },
        )
        assert status == 200, (status, data[:300])
        return len(data)

    def span(self, near: int) -> tuple[int, int]:
        text = self.text
        start = near
        while start < len(text) and not text[start].isalnum():
            start += 1
        while start > 0 and text[start - 1].isalnum():
            start -= 1
        end = start + 40
        while end < len(text) and text[end].isalnum():
            end += 1
        return start, end

    def load_text(self, highlights: int) -> None:
        self.args_highlights = highlights
        status, _, page = self.coder.request(
            "GET", f"/studies/bench/sources/{self.ids['sources'][f'bench-{highlights}']}/code/"
        )
        assert status == 200, status
        html = page.decode()
        inner = html.split('tabindex="0"', 1)[1].split(">", 1)[1].split("</div>", 1)[0]
        import html as html_module

        self.text = html_module.unescape(re.sub(r"<[^>]+>", "", inner))

    def export(self) -> int:
        status, _, data = self.supervisor.request("GET", "/studies/bench/exports/codings.csv")
        assert status == 200, status
        return len(data)

    def stop(self) -> None:
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(timeout=30)
        shutil.rmtree(self.workdir, ignore_errors=True)


def timed(fn, runs: int, warmup: int = 2) -> tuple[float, int]:
    size = 0
    for _ in range(warmup):
        size = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        size = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, size


def run_taguette(args) -> dict:
    scale = ",".join(str(m) for m in SCALES)
    out = subprocess.run(
        [
            args.taguette_python,
            str(PEER / "taguette_bench.py"),
            "--setup=db",
            f"--chars={args.chars}",
            f"--highlights={args.highlights}",
            f"--runs={args.runs}",
            f"--scale-highlights={scale}",
            f"--seed={args.seed}",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=PEER,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def peer_figure(result: dict, key: str) -> float:
    return float(result["median_ms"][key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--taguette-python", help="python of a virtual environment with taguette")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--highlights", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.chars, args.highlights, args.seed)
        return
    if not args.taguette_python:
        parser.error("--taguette-python is required")

    scratch = Path(tempfile.mkdtemp(prefix="trustcoder_bench_"))
    pg_name = f"trustcoder_bench_{os.getpid()}"
    pg_admin = args.postgres.rstrip("/") + "/postgres"
    subprocess.run(["psql", pg_admin, "-qc", f"CREATE DATABASE {pg_name}"], check=True)
    apps = {}
    try:
        apps["SQLite"] = TrustCoder("sqlite", f"sqlite:///{scratch / 'bench.sqlite3'}", args)
        apps["PostgreSQL"] = TrustCoder("pg", args.postgres.rstrip("/") + f"/{pg_name}", args)
        for app in apps.values():
            app.load_text(args.highlights)
        figures: dict[str, dict[str, list[float]]] = {}

        def add(row: str, who: str, value: float) -> None:
            figures.setdefault(row, {}).setdefault(who, []).append(value)

        sizes = {}
        for round_ in range(args.rounds):
            print(f"round {round_ + 1} of {args.rounds}: Taguette", flush=True)
            peer = run_taguette(args)
            add("open", "Taguette", peer_figure(peer, "load_doc"))
            for m in SCALES:
                add(f"open {m}", "Taguette", peer_figure(peer, f"load_doc_M{m}"))
            add("save", "Taguette", peer_figure(peer, "create_highlight"))
            add("export", "Taguette", peer_figure(peer, "export_csv"))
            for label, app in apps.items():
                print(f"round {round_ + 1} of {args.rounds}: TrustCoder on {label}", flush=True)
                ms, sizes[f"open {label}"] = timed(
                    lambda app=app: app.open(f"bench-{args.highlights}"), args.runs
                )
                add("open", label, ms)
                for m in SCALES:
                    ms, _ = timed(lambda app=app, m=m: app.open(f"scale-{m}"), args.runs)
                    add(f"open {m}", label, ms)
                ms, sizes[f"save {label}"] = timed(app.save, args.runs)
                add("save", label, ms)
                ms, _ = timed(app.export, args.runs)
                add("export", label, ms)
    finally:
        for app in apps.values():
            app.stop()
        subprocess.run(["psql", pg_admin, "-qc", f"DROP DATABASE IF EXISTS {pg_name}"])
        shutil.rmtree(scratch, ignore_errors=True)

    rows = [
        ("open", f"open the document with its {args.highlights:,} highlights"),
        *((f"open {m}", f"open at {m:,} highlights") for m in SCALES),
        ("save", "save one highlight"),
        ("export", f"CSV export of the {args.highlights:,}"),
    ]
    print(
        f"\n{args.chars:,} characters, {args.rounds} interleaved rounds of {args.runs} runs "
        "(medians of the round medians), gunicorn 2 workers, production settings\n"
    )
    print("| figure | Taguette | TrustCoder SQLite / PostgreSQL | ratio |")
    print("|---|---|---|---|")
    for key, label in rows:
        t = statistics.median(figures[key]["Taguette"])
        s = statistics.median(figures[key]["SQLite"])
        p = statistics.median(figures[key]["PostgreSQL"])
        print(f"| {label} | {t:.0f} ms | {s:.0f} / {p:.0f} ms | {s / t:.2f} / {p / t:.2f} |")
    print(
        f"\nBytes: page {sizes['open SQLite']:,} (SQLite), "
        f"save response {sizes['save SQLite']:,} (body)"
    )


if __name__ == "__main__":
    main()
