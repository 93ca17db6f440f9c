"""The explorer served in the background, for scripts, benchmarks and browser tests.

``with served() as url:`` starts ``python -m explorer`` on a free port of 127.0.0.1, waits until
it answers, yields its address and stops the process it started (terminate, then kill).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

REPO = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def served(output: IO | int = subprocess.DEVNULL, start_timeout_s: float = 120.0) -> Iterator[str]:
    """The explorer's address while a server started here runs; its output goes to ``output``.

    Raises RuntimeError when the server exits or does not answer within ``start_timeout_s``.
    """
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "explorer", "--port", str(port)], cwd=REPO,
                               stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the explorer did not start (python -m explorer)") from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
