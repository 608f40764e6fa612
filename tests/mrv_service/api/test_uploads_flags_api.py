"""Uploads (the same ingest and report as ``mrv ingest``), activity records, soil samples, flags
and their review, the audit trail: roles and tenant isolation of each endpoint."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from mrv_service.cli import cli

ERROR_KEYS = {"code", "message", "field", "fix"}

# (kind, file of the sample county), in the order they must be ingested
COUNTY_FILES = [
    ("plots", "plots.geojson"),
    ("logs", "activity_logs_baseline.csv"),
    ("logs", "activity_logs_project.xlsx"),
    ("soil", "soil_samples.csv"),
    ("weather", "weather_monthly.csv"),
]
# what differs between two uploads of the same file into two projects
VOLATILE = {"upload_id", "uploaded_at", "uploaded_by", "project", "previous_upload_id"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body["error"]) == ERROR_KEYS
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


def _project_json(small_county, name: str) -> dict:
    data = json.loads((small_county / "project.json").read_text(encoding="utf-8"))
    data.pop("settings", None)
    data["name"] = name
    return data


@pytest.fixture(scope="module")
def fresh(api_env, small_county):
    """Two fresh projects of the test organisation (``default``): one for the API, one for the CLI."""
    from mrv_service.store.db import make_engine, session_scope
    from mrv_service.store.projects import ensure_project_from_json, get_project

    engine = make_engine(api_env["settings"].database_url)
    try:
        ids = {}
        for name in ("api-uploads", "cli-uploads"):
            with session_scope(engine) as s:
                ensure_project_from_json(s, _project_json(small_county, name), org_name="default")
            with session_scope(engine) as s:
                ids[name] = get_project(s, name).id
    finally:
        engine.dispose()
    return ids


def _cli_env(settings) -> dict[str, str]:
    return {
        "MRV_DATA_DIR": str(settings.data_dir),
        "MRV_DATABASE_URL": settings.database_url,
        "MRV_OUTPUT_DIR": str(settings.output_dir),
        "MRV_STAC_URL": "",
    }


def _post_file(client, headers, project_id, kind, name, data: bytes):
    return client.post(
        f"/api/v1/projects/{project_id}/uploads/{kind}",
        headers=headers,
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _comparable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def uploaded(app, api_env, small_county, fresh):
    """The county's files uploaded through the API (developer) and through `mrv ingest --json`."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_env['tokens']['developer']}"}
    api, cli_reports = [], []
    runner = CliRunner()
    for kind, name in COUNTY_FILES:
        path = small_county / name
        r = _post_file(client, headers, fresh["api-uploads"], kind, name, path.read_bytes())
        api.append((r.status_code, r.get_json()))
        c = runner.invoke(
            cli, ["ingest", kind, "cli-uploads", str(path), "--json"], env=_cli_env(api_env["settings"])
        )
        assert c.exit_code == 0, c.output
        cli_reports.append(json.loads(c.stdout[c.stdout.index("{") :]))
    return api, cli_reports


def test_upload_gives_the_cli_report(uploaded, fresh, api_env):
    api, cli_reports = uploaded
    # the uploads were saved under the data dir while ingested, and removed afterwards
    tmp = api_env["settings"].data_dir / "uploads" / "tmp"
    assert tmp.is_dir() and not any(tmp.iterdir())
    for (kind, name), (status, body), cli_report in zip(COUNTY_FILES, api, cli_reports, strict=True):
        assert status == 201, (name, body)
        assert body["status"] == "accepted" and body["kind"] == kind and body["file"] == name
        assert body["uploaded_by"] == "developer@example.org"
        assert body["project"] == "api-uploads" and isinstance(body["upload_id"], int)
        assert body["rows_inserted"] > 0
        assert _comparable(body) == _comparable(cli_report), name


def test_reupload_is_already_ingested(client, auth, uploaded, fresh, small_county):
    r = _post_file(
        client,
        auth("developer"),
        fresh["api-uploads"],
        "soil",
        "again.csv",
        (small_county / "soil_samples.csv").read_bytes(),
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "already_ingested"
    first = uploaded[0][3][1]
    assert body["previous_upload_id"] == first["upload_id"]


def test_bad_file_is_rejected_with_row_and_field(client, auth, uploaded, fresh, small_county):
    lines = (small_county / "soil_samples.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    cells[3] = "abc"  # 上层深度(cm) of spreadsheet row 3
    lines[2] = ",".join(cells)
    r = _post_file(
        client, auth("developer"), fresh["api-uploads"], "soil", "土壤-bad.csv", "\n".join(lines).encode()
    )
    body = assert_error(r, 422, "upload_rejected")
    report = body["report"]
    assert report["status"] == "rejected" and report["file"] == "土壤-bad.csv"
    errors = [i for i in report["issues"] if i["severity"] == "error"]
    assert any(i["row"] == 3 and i["column"] == "上层深度(cm)" for i in errors), errors
    assert "row 3" in body["error"]["message"]
    listed = client.get(
        f"/api/v1/projects/{fresh['api-uploads']}/uploads?status=rejected", headers=auth("viewer")
    ).get_json()
    assert [u["file_name"] for u in listed["items"]] == ["土壤-bad.csv"]


@pytest.mark.parametrize(
    ("kind", "name", "hint"),
    [("soil", "soil.xls", ".xlsx"), ("plots", "plots.shp", "zip"), ("logs", "logs", ".csv")],
)
def test_unknown_extension_is_refused_with_a_fix(client, auth, fresh, kind, name, hint):
    r = _post_file(client, auth("developer"), fresh["api-uploads"], kind, name, b"x")
    body = assert_error(r, 422, "unsupported_file_type")
    assert body["error"]["field"] == "file" and hint in body["error"]["fix"]


def test_upload_errors(client, auth, fresh):
    pid = fresh["api-uploads"]
    assert_error(_post_file(client, auth("developer"), pid, "nope", "a.csv", b"x"), 404)
    r = client.post(f"/api/v1/projects/{pid}/uploads/soil", headers=auth("developer"), data={})
    assert_error(r, 422)
    for who in ("viewer", "agronomist"):
        assert_error(_post_file(client, auth(who), pid, "soil", "a.csv", b"x"), 403, "forbidden")


def test_uploads_listing_is_paged(client, auth, uploaded, fresh):
    url = f"/api/v1/projects/{fresh['api-uploads']}/uploads"
    seen, after = [], None
    while True:
        q = "?limit=2&kind=logs" + (f"&after={after}" if after else "")
        page = client.get(url + q, headers=auth("viewer")).get_json()
        seen += page["items"]
        after = page["next"]
        if after is None:
            break
    assert [u["file_name"] for u in seen] == ["activity_logs_baseline.csv", "activity_logs_project.xlsx"]


def test_activity_records_and_soil_samples(client, auth, uploaded, fresh):
    pid = fresh["api-uploads"]
    api = uploaded[0]
    n_logs = api[1][1]["rows_inserted"] + api[2][1]["rows_inserted"]
    for path, n in (("activity-records", n_logs), ("soil-samples", api[3][1]["rows_inserted"])):
        items, after = [], None
        while True:
            q = "?limit=1000" + (f"&after={after}" if after else "")
            page = client.get(f"/api/v1/projects/{pid}/{path}{q}", headers=auth("viewer")).get_json()
            items += page["items"]
            after = page["next"]
            if after is None:
                break
        assert len(items) == n
        plot = next(i["plot_id"] for i in items if i["plot_id"])
        one = client.get(f"/api/v1/projects/{pid}/{path}?plot_id={plot}", headers=auth("viewer")).get_json()
        assert one["items"] and {i["plot_id"] for i in one["items"]} == {plot}
        page = client.get(f"/api/v1/projects/{pid}/{path}?limit=2", headers=auth("viewer")).get_json()
        assert len(page["items"]) == 2 and page["next"] == page["items"][1]["id"]


# --- flags and reviews -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flagged(app, api_env, uploaded, fresh):
    """A succeeded run of the API project with three flags (stored directly, no models run)."""
    from sqlalchemy import select

    from mrv_service.api.db import db_session
    from mrv_service.store.models import Plot, Run
    from mrv_service.store.verification import replace_run_flags

    pid = fresh["api-uploads"]
    with app.app_context():
        s = db_session()
        plots = sorted(s.scalars(select(Plot.external_id).where(Plot.project_id == pid)))[:2]
        old = Run(project_id=pid, status="succeeded", out_dir="out/old", stages=[])
        run = Run(project_id=pid, status="succeeded", out_dir="out/new", stages=[])
        s.add_all([old, run])
        s.commit()
        base = dict(logged="no_till", detected="conventional", probability=0.9, reason="test")
        replace_run_flags(
            s,
            old,
            pd.DataFrame([dict(plot_id=plots[0], year=2024, practice="tillage", severity="info", **base)]),
        )
        flags = pd.DataFrame(
            [
                dict(plot_id=plots[0], year=2024, practice="tillage", severity="critical", **base),
                dict(plot_id=plots[0], year=2025, practice="residue", severity="warning", **base),
                dict(plot_id=plots[1], year=2024, practice="tillage", severity="warning", **base),
            ]
        )
        replace_run_flags(s, run, flags)
        return {"run_id": run.id, "plots": plots}


def test_flags_of_the_latest_succeeded_run(client, auth, flagged, fresh):
    url = f"/api/v1/projects/{fresh['api-uploads']}/flags"
    body = client.get(url, headers=auth("viewer")).get_json()
    assert body["run_id"] == flagged["run_id"]
    assert len(body["items"]) == 3 and body["next"] is None
    assert {f["review_status"] for f in body["items"]} == {"open"}
    p0, p1 = flagged["plots"]
    assert len(client.get(url + "?severity=warning", headers=auth("viewer")).get_json()["items"]) == 2
    assert len(client.get(url + "?practice=residue", headers=auth("viewer")).get_json()["items"]) == 1
    only = client.get(url + f"?plot_id={p1}", headers=auth("viewer")).get_json()["items"]
    assert [f["plot_id"] for f in only] == [p1]
    page = client.get(url + "?limit=2", headers=auth("viewer")).get_json()
    assert len(page["items"]) == 2 and page["next"] == page["items"][1]["id"]
    rest = client.get(url + f"?limit=2&after={page['next']}", headers=auth("viewer")).get_json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert_error(client.get(url + "?severity=nope", headers=auth("viewer")), 422)
    # a project without runs has no flags
    empty = client.get(f"/api/v1/projects/{fresh['cli-uploads']}/flags", headers=auth("viewer")).get_json()
    assert empty == {"run_id": None, "items": [], "next": None}


def test_review_by_an_agronomist_is_audited(client, auth, flagged, fresh):
    pid = fresh["api-uploads"]
    flags = client.get(f"/api/v1/projects/{pid}/flags", headers=auth("viewer")).get_json()["items"]
    flag = flags[0]
    url = f"/api/v1/projects/{pid}/flags/{flag['id']}/review"
    for who in ("viewer", "developer"):
        assert_error(client.post(url, json={"decision": "accept"}, headers=auth(who)), 403, "forbidden")
    assert_error(client.post(url, json={"decision": "maybe"}, headers=auth("agronomist")), 422)
    for decision, status in (
        ("request_evidence", "evidence_requested"),
        ("reject", "rejected"),
        ("accept", "accepted"),
    ):
        r = client.post(url, json={"decision": decision, "note": "看了田间照片"}, headers=auth("agronomist"))
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["review_status"] == status
    listed = client.get(f"/api/v1/projects/{pid}/flags?review_status=accepted", headers=auth("viewer"))
    assert [f["id"] for f in listed.get_json()["items"]] == [flag["id"]]
    entries, after = [], None
    while True:
        q = "?limit=1000" + (f"&after={after}" if after else "")
        page = client.get("/api/v1/audit" + q, headers=auth("viewer")).get_json()
        entries += page["items"]
        after = page["next"]
        if after is None:
            break
    reviews = [e for e in entries if e["action"] == "review" and e["payload"]["flag_id"] == flag["id"]]
    assert [e["payload"]["decision"] for e in reviews] == ["request_evidence", "reject", "accept"]
    assert all(e["actor"] == "agronomist@example.org" and e["project_id"] == pid for e in reviews)
    assert reviews[0]["payload"]["note"] == "看了田间照片"
    assert any(e["action"] == "upload" and e["project_id"] == pid for e in entries)
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs)
    # an override names a method the models take; a bad one, or one for another practice, is 422
    r = client.post(url, json={"decision": "override"}, headers=auth("agronomist"))
    assert assert_error(r, 422)["error"]["field"] == "method"
    r = client.post(url, json={"decision": "request_evidence"}, headers=auth("agronomist"))
    assert assert_error(r, 422)["error"]["field"] == "note"
    method = {"tillage": "no_till", "residue": "removed"}.get(flag["practice"])
    if method is not None:
        r = client.post(url, json={"decision": "override", "method": method}, headers=auth("agronomist"))
        assert r.status_code == 200 and r.get_json()["review_status"] == "overridden"
    # the admin may review too; an unknown flag is 404
    assert client.post(url, json={"decision": "accept"}, headers=auth("admin")).status_code == 200
    missing = f"/api/v1/projects/{pid}/flags/999999/review"
    assert_error(client.post(missing, json={"decision": "accept"}, headers=auth("agronomist")), 404)


def test_audit_chain_still_verifies(app, flagged, client, auth, fresh):
    from mrv_service.api.db import db_session
    from mrv_service.store.audit import verify

    flag = client.get(f"/api/v1/projects/{fresh['api-uploads']}/flags", headers=auth("viewer")).get_json()
    url = f"/api/v1/projects/{fresh['api-uploads']}/flags/{flag['items'][1]['id']}/review"
    assert client.post(url, json={"decision": "reject"}, headers=auth("agronomist")).status_code == 200
    with app.app_context():
        assert verify(db_session()).ok


# --- tenant isolation --------------------------------------------------------------------------------


def test_other_organisation_sees_nothing(app, client, auth, flagged, fresh, api_env, small_county):
    from mrv_service.api.db import db_session
    from mrv_service.store.users import create_user

    with app.app_context():
        s = db_session()
        _user, token = create_user(s, "other", "other-agronomist@example.org", "agronomist")
        s.commit()
    other_reviewer = {"Authorization": f"Bearer {token}"}
    pid = fresh["api-uploads"]
    before = client.get(f"/api/v1/projects/{pid}/flags", headers=auth("viewer")).get_json()["items"][0]
    flag_id = before["id"]
    other = auth("other")
    for path in (
        f"/api/v1/projects/{pid}/uploads",
        f"/api/v1/projects/{pid}/activity-records",
        f"/api/v1/projects/{pid}/soil-samples",
        f"/api/v1/projects/{pid}/flags",
    ):
        assert_error(client.get(path, headers=other), 404, "not_found")
    r = _post_file(
        client, other, pid, "soil", "soil_samples.csv", (small_county / "soil_samples.csv").read_bytes()
    )
    assert_error(r, 404, "not_found")
    review = {"decision": "accept"}
    r = client.post(f"/api/v1/projects/{pid}/flags/{flag_id}/review", json=review, headers=other_reviewer)
    assert_error(r, 404, "not_found")
    # the other organisation's flag reached through its own project id: 404 as well
    own = api_env["projects"]["other"]
    r = client.post(f"/api/v1/projects/{own}/flags/{flag_id}/review", json=review, headers=other_reviewer)
    assert_error(r, 404, "not_found")
    after = client.get(f"/api/v1/projects/{pid}/flags", headers=auth("viewer")).get_json()["items"][0]
    assert after == before
    for path in ("uploads", "activity-records", "soil-samples", "flags"):
        ours = client.get(f"/api/v1/projects/{pid}/{path}?limit=1000", headers=auth("viewer")).get_json()
        theirs = client.get(f"/api/v1/projects/{own}/{path}?limit=1000", headers=other).get_json()
        assert ours["items"], path
        assert not {i["id"] for i in ours["items"]} & {i["id"] for i in theirs["items"]}, path
    theirs = client.get(f"/api/v1/projects/{own}/uploads", headers=other).get_json()["items"]
    assert [u["file_name"] for u in theirs] == ["other-plots.geojson"]
    # its audit trail holds none of this organisation's entries
    entries = client.get("/api/v1/audit?limit=1000", headers=other).get_json()["items"]
    mine = {p for p in (pid, fresh["cli-uploads"], api_env["projects"]["sample"])}
    assert entries and not {e["project_id"] for e in entries} & mine
    assert {e["organisation_id"] for e in entries} == {entries[0]["organisation_id"]}
    ours = client.get("/api/v1/audit?limit=1000", headers=auth("viewer")).get_json()["items"]
    assert entries[0]["organisation_id"] not in {e["organisation_id"] for e in ours}


def test_new_endpoints_need_a_token(client, fresh):
    pid = fresh["api-uploads"]
    for path in (f"/api/v1/projects/{pid}/uploads", f"/api/v1/projects/{pid}/flags", "/api/v1/audit"):
        assert_error(client.get(path), 401, "unauthorized")
