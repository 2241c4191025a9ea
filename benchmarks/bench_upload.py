"""Time parsing a 9.8 MB multipart upload, held in memory or streamed to a temporary file.

Run by hand: ``.venv/bin/python benchmarks/bench_upload.py``. It builds the body of an upload of
100,000 short statements (as `bench_background_import.py` sends it) and has Django's request
parser read it from a WSGI stream, 64 KB at a time, with FILE_UPLOAD_MAX_MEMORY_SIZE above the
file (the file is kept in memory) and at the setting (the file goes to a temporary file on disk),
then reads the file once as the import view does. It prints the median time and the peak of
Python memory of each. No database is needed.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcoder.settings_test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart  # noqa: E402

N_ROWS = 100_000
RUNS = 5


def body() -> bytes:
    lines = ["negotiation,phase,title,date,speaker_party,source_type,text"]
    lines += [
        f"AF,Agreement,Statement {n},1994-10-21,US,,Statement {n}. The envoy notes the fuel "
        "schedule."
        for n in range(N_ROWS)
    ]
    upload = io.BytesIO("\n".join(lines).encode())
    upload.name = "statements.csv"
    return encode_multipart(BOUNDARY, {"file": upload, "create_missing": "on"})


def parse(data: bytes) -> tuple[float, int, str]:
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": MULTIPART_CONTENT,
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "PATH_INFO": "/",
    }
    tracemalloc.start()
    started = time.perf_counter()
    request = WSGIRequest(environ)
    upload = request.FILES["file"]
    content = upload.read()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(content) == upload.size
    kind = type(upload).__name__
    upload.close()
    return seconds, peak, kind


def main() -> None:
    data = body()
    print(f"upload body: {len(data) / 1e6:.1f} MB")
    for limit in (len(data) * 2, settings.FILE_UPLOAD_MAX_MEMORY_SIZE):
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = limit
        results = [parse(data) for _ in range(RUNS)]
        median = statistics.median(s for s, _, _ in results)
        peak = max(p for _, p, _ in results)
        print(
            f"FILE_UPLOAD_MAX_MEMORY_SIZE {limit / 1e6:.1f} MB -> {results[0][2]}: "
            f"median {median * 1000:.0f} ms, peak Python memory {peak / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
