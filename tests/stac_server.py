"""A real STAC API (rustac, in-memory) on loopback for tests: ``serve_stac(files)``."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_stac(files: Sequence[Path]) -> Iterator[str]:
    """Serve item-collection JSON files with ``rustac serve`` and yield the API root URL.

    Skips the test when rustac is not installed (it comes with the dev extra).
    """
    exe = shutil.which("rustac", path=str(Path(sys.executable).parent)) or shutil.which("rustac")
    if exe is None:
        pytest.skip("rustac is not installed in the venv (dev extra)")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "serve", "--create-collections", "-a", f"127.0.0.1:{port}", *map(str, files)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                proc.kill()
                raise RuntimeError(f"rustac serve did not start on {url}: {err}") from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
