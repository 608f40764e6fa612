"""``mrv serve``: waitress serves the API, prints the docs URL and stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mrv_service.config import load_settings
from mrv_service.store.db import init_db, make_engine, session_scope
from mrv_service.store.users import create_user
from tests.mrv_service.conftest import cli_env

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy to localhost
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_and_stops_cleanly(tmp_path, stop):
    env = {**os.environ, **cli_env(tmp_path), "PYTHONPATH": str(ROOT)}
    engine = make_engine(load_settings(env).database_url)
    try:
        init_db(engine)
        with session_scope(engine) as s:
            _user, token = create_user(s, "acme", "a@acme.example", "viewer")
    finally:
        engine.dispose()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mrv_service.cli", "serve", "--port", str(port), "--threads", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        out = "".join(lines)
        base = f"http://127.0.0.1:{port}/api/v1"
        assert f"{base}/docs" in out, out + proc.stderr.read() if proc.poll() is not None else out

        status, body = _get(f"{base}/docs")
        assert status == 200 and b"swagger" in body.lower()
        status, body = _get(f"{base}/openapi.json")
        assert status == 200 and json.loads(body)["openapi"].startswith("3.")
        status, body = _get(f"{base}/projects", token)
        assert status == 200 and json.loads(body) == {"items": [], "next": None}
        status, body = _get(f"{base}/projects")
        assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
    finally:
        proc.send_signal(stop)
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0, stderr
    assert "stopped" in stderr
