"""The API skeleton: authentication, the OpenAPI document and docs page, the error shape,
organisations, projects and plots, tenant isolation and roles."""

from __future__ import annotations

import re

import pytest
import shapely

from mrv_service.store.users import create_user, hash_password, verify_password

ERROR_KEYS = {"code", "message", "field", "fix"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    if code is not None:
        assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


# --- authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects",
        "/api/v1/organisation",
        "/api/v1/projects/1",
        "/api/v1/projects/1/plots",
        "/api/v1/nope",
    ],
)
def test_401_without_or_with_a_bad_token(client, path):
    assert_error(client.get(path), 401, "unauthorized")
    assert_error(client.get(path, headers={"Authorization": "Bearer not-a-token"}), 401, "unauthorized")
    assert_error(client.get(path, headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    assert client.get(path).headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(client, app):
    from mrv_service.api.db import db_session
    from mrv_service.store.models import ApiToken
    from mrv_service.store.users import token_sha256

    with app.app_context():
        s = db_session()
        _user, token = create_user(s, "default", "revoked@example.org", "viewer")
        s.commit()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/projects", headers=headers).status_code == 200
        s.query(ApiToken).filter_by(token_sha256=token_sha256(token)).update({"revoked": True})
        s.commit()
    assert_error(client.get("/api/v1/projects", headers=headers), 401)


def test_tokens_are_stored_hashed(app, api_env):
    import sqlalchemy as sa

    engine = app.extensions["mrv"]["engine"]
    with engine.connect() as conn:
        stored = set(conn.execute(sa.text("SELECT token_sha256 FROM api_tokens")).scalars())
    assert not set(api_env["tokens"].values()) & stored
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)


# --- OpenAPI and docs ----------------------------------------------------------------------------


def test_openapi_document_is_valid_openapi_3(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["openapi"].startswith("3.")
    from openapi_spec_validator import validate

    validate(spec)
    paths = spec["paths"]
    for p in (
        "/api/v1/organisation",
        "/api/v1/projects",
        "/api/v1/projects/{project_id}",
        "/api/v1/projects/{project_id}/plots",
    ):
        assert p in paths
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "Error" in spec["components"]["schemas"]


def test_docs_page_works_offline(client):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "swagger-ui" in html
    assert not re.search(r"https?://", html), "the docs page must not load anything from another host"
    assert not re.search(r"""(src|href)=["']//""", html)
    for asset in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
        a = client.get(asset)
        assert a.status_code == 200 and len(a.data) > 1000, asset
        a.close()


# --- the error shape -------------------------------------------------------------------------------


def test_404_unknown_path(client, auth):
    assert_error(client.get("/api/v1/no-such-thing", headers=auth()), 404, "not_found")
    assert_error(client.get("/no-such-thing"), 404, "not_found")


def test_405_wrong_method(client, auth):
    r = client.delete("/api/v1/projects", headers=auth())
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_413_too_large(client, auth, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    pid = 1
    r = client.patch(
        f"/api/v1/projects/{pid}/settings",
        data=b"x" * (limit + 1),
        headers={**auth("developer"), "Content-Type": "application/json"},
    )
    assert_error(r, 413, "payload_too_large")


def test_500_is_json_and_hides_internals(app, auth, monkeypatch):
    from mrv_service.api import projects

    def boom(*_a, **_k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(projects, "project_of_caller", boom)
    # a fresh client; TESTING propagates nothing a handler catches
    r = app.test_client().get("/api/v1/projects/1", headers=auth())
    err = assert_error(r, 500, "internal_error")
    assert "secret" not in r.get_data(as_text=True)
    assert err["fix"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=abc", "limit"), ("limit=100000", "limit"), ("after=-1", "after")],
)
def test_422_validation_error_names_the_field(client, auth, query, field):
    err = assert_error(client.get(f"/api/v1/projects?{query}", headers=auth()), 422, "validation_error")
    assert err["field"] == field


# --- organisations -------------------------------------------------------------------------------


def test_own_organisation(client, auth):
    r = client.get("/api/v1/organisation", headers=auth("viewer"))
    assert r.status_code == 200 and r.get_json()["name"] == "default"
    own_id = r.get_json()["id"]
    assert client.get(f"/api/v1/organisations/{own_id}", headers=auth()).get_json()["id"] == own_id
    other = client.get("/api/v1/organisation", headers=auth("other")).get_json()
    assert other["name"] == "other"
    assert_error(client.get(f"/api/v1/organisations/{other['id']}", headers=auth()), 404)
    assert_error(client.get(f"/api/v1/organisations/{own_id}", headers=auth("other")), 404)
    me = client.get("/api/v1/users/me", headers=auth("viewer")).get_json()
    assert me["role"] == "viewer" and me["email"] == "viewer@example.org"


# --- projects ----------------------------------------------------------------------------------------


def test_project_listing_and_one(client, auth, api_env):
    r = client.get("/api/v1/projects", headers=auth("viewer"))
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"items", "next"} and body["next"] is None
    assert [p["id"] for p in body["items"]] == [api_env["projects"]["sample"]]
    p = body["items"][0]
    assert p["name"] == "lishu-conservation-tillage" and p["methodology_id"] and "settings" in p
    one = client.get(f"/api/v1/projects/{p['id']}", headers=auth("viewer")).get_json()
    assert one == p
    settings = client.get(f"/api/v1/projects/{p['id']}/settings", headers=auth("viewer")).get_json()
    assert settings == {"settings": p["settings"]}


def test_project_paging(client, auth, app):
    from mrv_service.api.db import db_session
    from mrv_service.store.projects import ensure_project_from_json
    from tests.mrv_service.conftest import PROJECT_JSON

    with app.app_context():
        s = db_session()
        for i in range(4):
            ensure_project_from_json(s, {**PROJECT_JSON, "name": f"paging-{i}"}, org_name="paging")
        s.commit()
        _user, token = create_user(s, "paging", "pager@example.org", "viewer")
        s.commit()
    headers = {"Authorization": f"Bearer {token}"}
    seen, after, pages = [], None, 0
    while True:
        url = "/api/v1/projects?limit=3" + (f"&after={after}" if after is not None else "")
        body = client.get(url, headers=headers).get_json()
        pages += 1
        assert len(body["items"]) <= 3
        seen += [p["name"] for p in body["items"]]
        after = body["next"]
        if after is None:
            break
    assert pages == 2 and sorted(seen) == [f"paging-{i}" for i in range(4)] and len(set(seen)) == 4


# --- plots -------------------------------------------------------------------------------------------


def _all_plots(client, headers, pid, extra="", limit=7):
    features, after = [], None
    for _ in range(100):
        url = f"/api/v1/projects/{pid}/plots?limit={limit}{extra}" + (f"&after={after}" if after else "")
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert body["type"] == "FeatureCollection" and len(body["features"]) <= limit
        features += body["features"]
        after = body["next"]
        if after is None:
            return features
    raise AssertionError("paging does not end")


def test_plots_geojson_and_paging(client, auth, api_env):
    pid = api_env["projects"]["sample"]
    r = client.get(f"/api/v1/projects/{pid}/plots", headers=auth("viewer"))
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    everything = r.get_json()["features"]
    assert len(everything) == 40 and r.get_json()["next"] is None
    f = everything[0]
    assert f["type"] == "Feature" and f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert {"external_id", "area_ha", "centroid_lon", "centroid_lat"} <= set(f["properties"])
    lon, lat = f["geometry"]["coordinates"][0][0][:2] if f["geometry"]["type"] == "Polygon" else (0, 0)
    assert 73 < lon < 135 and 18 < lat < 54  # lon/lat order in China
    paged = _all_plots(client, auth("viewer"), pid)
    assert [x["id"] for x in paged] == [x["id"] for x in everything]


def test_plots_bbox(client, auth, api_env):
    pid = api_env["projects"]["sample"]
    everything = _all_plots(client, auth(), pid, limit=1000)
    geoms = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in everything}
    minx, miny, maxx, maxy = shapely.union_all(list(geoms.values())).bounds
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    expected = {i for i, g in geoms.items() if g.intersects(shapely.box(*box))}
    assert 0 < len(expected) < len(geoms)
    bbox = ",".join(map(str, box))
    got = _all_plots(client, auth(), pid, extra=f"&bbox={bbox}", limit=3)
    assert {f["id"] for f in got} == expected and len(got) == len(expected)
    far = client.get(f"/api/v1/projects/{pid}/plots?bbox=0,0,1,1", headers=auth()).get_json()
    assert far["features"] == [] and far["next"] is None


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "3,0,1,1", "0,0,200,1", "nan,0,1,1"])
def test_plots_bad_bbox(client, auth, api_env, bbox):
    pid = api_env["projects"]["sample"]
    err = assert_error(client.get(f"/api/v1/projects/{pid}/plots?bbox={bbox}", headers=auth()), 422)
    assert err["field"] == "bbox"


# --- tenant isolation (OWASP API1) -------------------------------------------------------------


def _project_paths(pid: int) -> list[str]:
    return [
        f"/api/v1/projects/{pid}",
        f"/api/v1/projects/{pid}/settings",
        f"/api/v1/projects/{pid}/plots",
        f"/api/v1/projects/{pid}/plots?bbox=-180,-90,180,90",
    ]


@pytest.mark.parametrize(("caller", "owner"), [("admin", "other"), ("other", "sample")])
def test_cross_tenant_ids_are_404(client, auth, api_env, caller, owner):
    foreign = api_env["projects"][owner]
    for path in _project_paths(foreign):
        err = assert_error(client.get(path, headers=auth(caller)), 404, "not_found")
        assert str(foreign) in err["message"]
    r = client.patch(
        f"/api/v1/projects/{foreign}/settings",
        json={"set": {"imagery.max_cloud_cover": 10}},
        headers=auth(caller),
    )
    assert_error(r, 404)
    # the same answer as an id that does not exist
    missing = client.get("/api/v1/projects/999999", headers=auth(caller)).get_json()
    got = client.get(f"/api/v1/projects/{foreign}", headers=auth(caller)).get_json()
    assert got["error"]["code"] == missing["error"]["code"]


def test_listings_never_include_another_tenant(client, auth, api_env, app):
    other_pid = api_env["projects"]["other"]
    listed = client.get("/api/v1/projects?limit=1000", headers=auth()).get_json()["items"]
    assert other_pid not in {p["id"] for p in listed}
    theirs = client.get("/api/v1/projects?limit=1000", headers=auth("other")).get_json()["items"]
    assert [p["id"] for p in theirs] == [other_pid]
    # another tenant's plot ids never appear in one's own plot listing
    import sqlalchemy as sa

    with app.extensions["mrv"]["engine"].connect() as conn:
        other_plots = set(
            conn.execute(sa.text("SELECT id FROM plots WHERE project_id = :p"), {"p": other_pid}).scalars()
        )
    assert len(other_plots) == 4
    own = _all_plots(client, auth(), api_env["projects"]["sample"], limit=1000)
    assert not other_plots & {f["id"] for f in own}
    mine = _all_plots(client, auth("other"), other_pid, limit=1000)
    assert {f["id"] for f in mine} == other_plots


# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("viewer", 403), ("agronomist", 403), ("developer", 200), ("admin", 200)]
)
def test_only_admins_and_developers_change_settings(client, auth, api_env, who, status):
    pid = api_env["projects"]["sample"]
    r = client.patch(
        f"/api/v1/projects/{pid}/settings", json={"set": {"imagery.max_cloud_cover": 35}}, headers=auth(who)
    )
    if status == 403:
        assert_error(r, 403, "forbidden")
    else:
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["settings"]["imagery"]["max_cloud_cover"] == 35


def test_settings_changes_are_validated(client, auth, api_env):
    pid = api_env["projects"]["sample"]
    h = auth("developer")
    url = f"/api/v1/projects/{pid}/settings"
    assert_error(client.patch(url, json={"set": {"no.such.key": 1}}, headers=h), 422, "invalid_setting")
    assert_error(client.patch(url, json={"set": {"imagery.max_cloud_cover": "lots"}}, headers=h), 422)
    err = assert_error(client.patch(url, json={"set": {"imagery.source": "/etc"}}, headers=h), 422)
    assert err["field"] == "set.imagery.source"
    assert_error(client.patch(url, json={}, headers=h), 422, "validation_error")
    assert_error(client.patch(url, data="{not json", headers={**h, "Content-Type": "application/json"}), 400)


# --- users --------------------------------------------------------------------------------------------


def test_create_user_rules(app):
    from mrv_service.api.db import db_session
    from mrv_service.store.users import UserError, user_for_token

    with app.app_context():
        s = db_session()
        with pytest.raises(UserError, match="role"):
            create_user(s, "default", "x@example.org", "superuser")
        with pytest.raises(UserError, match="e-mail"):
            create_user(s, "default", "not-an-address", "viewer")
        with pytest.raises(UserError, match="exists"):
            create_user(s, "default", "Viewer@Example.org", "viewer")
        user, token = create_user(s, "brand-new-org", "new@example.org", "agronomist")
        assert len(token) >= 43 and user.organisation.name == "brand-new-org"
        assert user_for_token(s, token).id == user.id
        assert user_for_token(s, token + "x") is None and user_for_token(s, "") is None
        s.rollback()


def test_password_hashing():
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$") and "correct" not in h
    assert verify_password(h, "correct horse") and not verify_password(h, "wrong")
    assert not verify_password("not-a-hash", "x")
