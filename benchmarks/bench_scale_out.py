"""Many coders at once, and an export of 100,000 codings, on PostgreSQL under gunicorn.

Run by hand (needs a PostgreSQL server where a scratch database may be created)::

    .venv/bin/python benchmarks/bench_scale_out.py [--postgres postgres://postgres@127.0.0.1:5432/]

1. Eight coders save codings at the same moment, as fast as their browsers can send them, into
   the same 100,000-character source (the worst case for its row lock), against gunicorn with
   production settings and 4 workers: saves per second and the 50th/95th percentile of one save.
2. The CSV export of 100,000 codings through the web (`COPY (SELECT ...) TO STDOUT` with the
   neutralisation in the SQL, streamed) against PostgreSQL's own COPY of the same rows and
   columns without it, read by psycopg: rows per second of each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_vs_taguette import PASSWORD, Client  # noqa: E402
from serve import start_gunicorn  # noqa: E402

CODERS = 8
EXPORT_CODINGS = 100_000
SENTENCE = "The delegation said it would keep its word if the other side kept the freeze. "


def prepare(chars: int) -> None:
    """Fill the database of DATABASE_URL; print the ids the timings need as JSON."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcoder.settings")
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from negotiations.models import Assignment, AssignmentStatus, Code, Coding, Role
    from negotiations.sources import services as source_services
    from negotiations.studies import services as study_services

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--no-input", verbosity=0)
    owner = User.objects.create_user("olivia", password=PASSWORD)
    study = study_services.study_create(name="Scale", slug="scale", created_by=owner)
    party = study_services.party_create(study=study, code="US", name="United States")
    negotiation = study_services.negotiation_create(study=study, name="Talks", parties=[party])
    text = (SENTENCE * (chars // len(SENTENCE) + 1))[:chars]
    live = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
            negotiation=negotiation, title="Shared transcript", speaker_party=party
        ),
        text=text,
        created_by=owner,
    )
    bulk = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
            negotiation=negotiation, title="Exported transcript", speaker_party=party
        ),
        text=text[:-1] + ".",
        created_by=owner,
    )
    coders = []
    for i in range(CODERS):
        user = User.objects.create_user(f"coder{i}", password=PASSWORD)
        study_services.membership_add(
            study=study, identifier=user.username, role=Role.CODER, actor_role=Role.OWNER
        )
        for source in (live, bulk):
            Assignment.objects.create(
                source=source, coder=user, status=AssignmentStatus.IN_PROGRESS
            )
        coders.append(user)
    codes = list(Code.objects.filter(study=study).order_by("pk"))
    rows = []
    for i in range(EXPORT_CODINGS):
        start = (i * 37) % (chars - 200)
        end = start + 20 + i % 150
        rows.append(
            Coding(
                source=bulk,
                coder=coders[i % CODERS],
                code=codes[i % len(codes)],
                start=start,
                end=end,
                quote=bulk.text[start:end],
                stance="for" if i % 3 else "against",
                demonstrating_party=party,
                memo=f"memo {i}" if i % 5 == 0 else "",
            )
        )
    Coding.objects.bulk_create(rows, batch_size=5000)
    print(json.dumps({"live": live.pk, "code": codes[0].pk, "party": party.pk, "text": text}))


def concurrent_saves(port: int, ids: dict, seconds: float) -> tuple[int, float, list[float]]:
    clients = []
    for i in range(CODERS):
        client = Client(port)
        client.log_in(f"coder{i}")
        clients.append(client)
    text = ids["text"]
    path = f"/studies/scale/sources/{ids['live']}/codings/"
    barrier = threading.Barrier(CODERS + 1)
    times: list[list[float]] = [[] for _ in clients]
    failures: list[str] = []
    stop_at = [0.0]

    def work(i: int, client: Client) -> None:
        n = 0
        barrier.wait()
        while time.monotonic() < stop_at[0]:
            # Every coder's every save is a new passage: no duplicate is ever refused.
            start = (i * 9_973 + n * 131) % (len(text) - 300)
            end = start + 30 + (n % 200)
            n += 1
            body = urllib.parse.urlencode(
                {
                    "start": start,
                    "end": end,
                    "quote": text[start:end],
                    "code": ids["code"],
                    "stance": "for" if n % 2 else "against",
                    "demonstrating_party": ids["party"],
                    "strength": "",
                    "memo": "",
                }
            )
            began = time.perf_counter()
            status, _, data = client.request(
                "POST",
                path,
                body,
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "HX-Request": "true",
                    "X-CSRFToken": client.csrf(),
                    "Referer": f"http://127.0.0.1:{port}/",
                },
            )
            times[i].append(time.perf_counter() - began)
            if status != 200:
                failures.append(f"{status} {data[:200]!r}")

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    assert not failures, failures[:3]
    every = sorted(t for per_coder in times for t in per_coder)
    return len(every), elapsed, every


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def export_vs_copy(port: int, database_url: str, runs: int) -> tuple[float, float, int]:
    import psycopg

    supervisor = Client(port)
    supervisor.log_in("olivia")  # the owner: every coder's codings
    web = []
    n_rows = 0
    for _ in range(runs):
        began = time.perf_counter()
        status, _, data = supervisor.request("GET", "/studies/scale/exports/codings.csv")
        web.append(time.perf_counter() - began)
        assert status == 200, status
        n_rows = data.count(b"\n") - 1
    # The same rows and columns, as PostgreSQL writes them itself: no neutralisation, its own
    # formats for dates and times.
    sql = """COPY (
        SELECT c.id, 'scale', n.name, ph.name, s.id, s.title, s.date, s.speaker, sp.code,
               s.source_type, u.username, a.status, k.name, c.stance, dp.code, c.strength,
               c.start, c."end", c.quote, c.memo, c.created_at, c.updated_at
        FROM negotiations_coding c
        JOIN negotiations_source s ON s.id = c.source_id
        JOIN negotiations_negotiation n ON n.id = s.negotiation_id
        LEFT JOIN negotiations_phase ph ON ph.id = s.phase_id
        LEFT JOIN negotiations_party sp ON sp.id = s.speaker_party_id
        JOIN auth_user u ON u.id = c.coder_id
        LEFT JOIN negotiations_assignment a ON a.source_id = c.source_id AND a.coder_id = c.coder_id
        JOIN negotiations_code k ON k.id = c.code_id
        JOIN negotiations_party dp ON dp.id = c.demonstrating_party_id
        ORDER BY s.date, s.id, c.start, c."end", c.id
    ) TO STDOUT (FORMAT csv)"""
    own = []
    with psycopg.connect(database_url) as connection:
        for _ in range(runs):
            began = time.perf_counter()
            size = 0
            with connection.cursor() as cursor, cursor.copy(sql) as copy:
                for chunk in copy:
                    size += len(chunk)
            own.append(time.perf_counter() - began)
    return statistics.median(web), statistics.median(own), n_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.chars)
        return
    import secrets

    name = f"trustcoder_scale_{os.getpid()}"
    admin = args.postgres.rstrip("/") + "/postgres"
    database_url = args.postgres.rstrip("/") + f"/{name}"
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    cache = Path(tempfile.mkdtemp(prefix=f"{name}_cache_"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "trustcoder.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "TRUSTCODER_CACHE_DIR": str(cache),
    }
    server = None
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--prepare", f"--chars={args.chars}"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        ids = json.loads(out.stdout.strip().splitlines()[-1])
        server, port = start_gunicorn(env=env, workers=args.workers)
        n, elapsed, every = concurrent_saves(port, ids, args.seconds)
        print(
            f"{CODERS} coders saving at once into one source ({args.workers} workers, "
            f"PostgreSQL, {args.seconds:.0f} s): {n} saves, {n / elapsed:.1f} saves/s, "
            f"p50 {percentile(every, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(every, 0.95) * 1000:.0f} ms"
        )
        web, own, n_rows = export_vs_copy(port, database_url, args.runs)
        print(
            f"export of {n_rows:,} codings: through the web {web * 1000:.0f} ms "
            f"({n_rows / web:,.0f} rows/s); PostgreSQL's own COPY of the same rows "
            f"{own * 1000:.0f} ms ({n_rows / own:,.0f} rows/s); ratio {own / web:.2f}"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=False)
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
