"""gunicorn for the benchmarks: the app as `make serve` runs it, on a free port.

Imports nothing of Django, so the scripts that drive the app from outside (and the peer's
harness beside it) can use it before or without setting Django up.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(*, env: dict, workers: int = 2) -> tuple[subprocess.Popen, int]:
    """gunicorn with `env` (production settings, the database to serve) and `workers` sync
    workers; returns once it accepts connections, with its port."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "trustcoder.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--log-level=warning",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.2)
