"""`mrv users create` prints a token that authenticates on the API; `mrv project create --org`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mrv_service.cli import cli
from tests.mrv_service.conftest import PROJECT_JSON, cli_env


def test_users_create_prints_a_working_token(tmp_path):
    env = cli_env(tmp_path)
    runner = CliRunner()
    r = runner.invoke(
        cli, ["users", "create", "--org", "acme", "--role", "developer", "--email", "d@acme.cn"], env=env
    )
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[-1]
    assert len(token) >= 43
    project = tmp_path / "project.json"
    project.write_text(json.dumps(PROJECT_JSON), encoding="utf-8")
    r = runner.invoke(cli, ["project", "create", str(project), "--org", "acme"], env=env)
    assert r.exit_code == 0, r.output
    again = runner.invoke(
        cli, ["users", "create", "--org", "acme", "--role", "viewer", "--email", "d@acme.cn"], env=env
    )
    assert again.exit_code != 0 and "exists" in again.output
    bad = runner.invoke(
        cli, ["users", "create", "--org", "acme", "--role", "root", "--email", "r@acme.cn"], env=env
    )
    assert bad.exit_code != 0

    from mrv_service.api import create_app
    from mrv_service.config import load_settings

    app = create_app(load_settings(env), {"TESTING": True})
    try:
        body = (
            app.test_client().get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"}).get_json()
        )
        assert [p["name"] for p in body["items"]] == [PROJECT_JSON["name"]]
    finally:
        app.extensions["mrv"]["engine"].dispose()
