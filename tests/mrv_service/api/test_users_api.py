"""``/api/v1/users`` and ``/api/v1/tokens``: users created by an admin, tokens issued and
revoked over the API, each in the audit trail; roles and tenant isolation."""

from __future__ import annotations

import pytest

from tests.mrv_service.api.test_api import assert_error


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _audit_actions(client, headers) -> list[dict]:
    return client.get("/api/v1/audit?limit=1000", headers=headers).get_json()["items"]


def _me(client, headers) -> dict:
    return client.get("/api/v1/users/me", headers=headers).get_json()


@pytest.fixture(scope="module")
def other_admin(app):
    """An admin of organisation ``other``: its token."""
    from mrv_service.api.db import db_session
    from mrv_service.store.users import create_user

    with app.app_context():
        s = db_session()
        _user, token = create_user(s, "other", "other-admin@example.org", "admin")
        s.commit()
    return token


def test_admin_creates_a_user_whose_token_works_and_is_audited(client, auth, app):
    r = client.post(
        "/api/v1/users",
        json={
            "email": "New.Agronomist@Example.org",
            "role": "agronomist",
            "password": "correct horse battery",
        },
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["user"]["email"] == "new.agronomist@example.org" and body["user"]["role"] == "agronomist"
    token = body["token"]["token"]
    me = _me(client, _bearer(token))
    assert (
        me["id"] == body["user"]["id"]
        and me["organisation_id"] == _me(client, auth("admin"))["organisation_id"]
    )
    # the password is kept as an argon2id hash that verifies
    from mrv_service.api.db import db_session
    from mrv_service.store.models import User
    from mrv_service.store.users import verify_password

    with app.app_context():
        stored = db_session().get(User, body["user"]["id"]).password_hash
    assert stored.startswith("$argon2id$") and verify_password(stored, "correct horse battery")
    entry = [e for e in _audit_actions(client, auth("admin")) if e["action"] == "user_created"][-1]
    assert entry["actor"] == "admin@example.org"
    assert entry["payload"]["email"] == "new.agronomist@example.org"
    assert entry["payload"]["token_id"] == body["token"]["id"]
    # the token value appears nowhere in the trail
    assert token not in str(_audit_actions(client, auth("admin")))


def test_create_user_errors(client, auth):
    r = client.post("/api/v1/users", json={"email": "admin@example.org", "role": "viewer"}, headers=auth())
    assert assert_error(r, 409, "conflict")["field"] == "email"
    r = client.post("/api/v1/users", json={"email": "x@example.org", "role": "owner"}, headers=auth())
    assert assert_error(r, 422)["field"] == "role"
    r = client.post("/api/v1/users", json={"email": "not-an-address", "role": "viewer"}, headers=auth())
    assert assert_error(r, 422)["field"] == "email"
    r = client.post(
        "/api/v1/users",
        json={"email": "y@example.org", "role": "viewer", "password": "short"},
        headers=auth(),
    )
    assert assert_error(r, 422)["field"] == "password"


@pytest.mark.parametrize("who", ["developer", "agronomist", "viewer"])
def test_only_admins_list_and_create_users(client, auth, who):
    assert_error(client.get("/api/v1/users", headers=auth(who)), 403, "forbidden")
    r = client.post(
        "/api/v1/users", json={"email": f"by-{who}@example.org", "role": "admin"}, headers=auth(who)
    )
    assert_error(r, 403, "forbidden")


def test_user_listing_is_paged_and_own_organisation_only(client, auth, other_admin):
    seen, after = [], None
    while True:
        url = "/api/v1/users?limit=2" + (f"&after={after}" if after else "")
        page = client.get(url, headers=auth()).get_json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        after = page["next"]
        if after is None:
            break
    emails = {u["email"] for u in seen}
    assert {
        "admin@example.org",
        "developer@example.org",
        "agronomist@example.org",
        "viewer@example.org",
    } <= emails
    assert "other@example.org" not in emails and "other-admin@example.org" not in emails
    assert len({u["organisation_id"] for u in seen}) == 1
    theirs = {
        u["email"] for u in client.get("/api/v1/users", headers=_bearer(other_admin)).get_json()["items"]
    }
    assert theirs == {"other@example.org", "other-admin@example.org"}


def test_a_user_sees_itself_but_not_others(client, auth):
    viewer, developer = _me(client, auth("viewer")), _me(client, auth("developer"))
    assert client.get(f"/api/v1/users/{viewer['id']}", headers=auth("viewer")).get_json() == viewer
    assert_error(client.get(f"/api/v1/users/{developer['id']}", headers=auth("viewer")), 404)
    assert_error(client.get(f"/api/v1/users/{developer['id']}/tokens", headers=auth("viewer")), 404)
    assert_error(client.post(f"/api/v1/users/{developer['id']}/tokens", headers=auth("viewer")), 404)
    assert client.get(f"/api/v1/users/{developer['id']}", headers=auth("admin")).get_json() == developer


def test_issue_list_and_revoke_tokens(client, auth):
    viewer = _me(client, auth("viewer"))
    r = client.post(f"/api/v1/users/{viewer['id']}/tokens", headers=auth("viewer"))
    assert r.status_code == 201
    new = r.get_json()
    assert _me(client, _bearer(new["token"]))["id"] == viewer["id"]
    listed = client.get(f"/api/v1/users/{viewer['id']}/tokens", headers=auth("viewer")).get_json()["items"]
    assert new["id"] in {t["id"] for t in listed}
    assert all(set(t) == {"id", "user_id", "created_at", "revoked"} for t in listed)  # no value, no hash
    # the token of the request itself cannot be revoked
    err = assert_error(client.delete(f"/api/v1/tokens/{new['id']}", headers=_bearer(new["token"])), 409)
    assert err["field"] == "token_id" and "another" in err["fix"]
    # with the other token it can; then it no longer authenticates, and revoking again is a no-op
    r = client.delete(f"/api/v1/tokens/{new['id']}", headers=auth("viewer"))
    assert r.status_code == 200 and r.get_json()["revoked"] is True
    assert_error(client.get("/api/v1/users/me", headers=_bearer(new["token"])), 401)
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=auth("viewer")).status_code == 200
    actions = [(e["action"], e["payload"].get("token_id")) for e in _audit_actions(client, auth("admin"))]
    assert actions.count(("token_issued", new["id"])) == 1
    assert actions.count(("token_revoked", new["id"])) == 1


def test_admin_issues_and_revokes_another_users_token(client, auth):
    developer = _me(client, auth("developer"))
    new = client.post(f"/api/v1/users/{developer['id']}/tokens", headers=auth("admin")).get_json()
    assert _me(client, _bearer(new["token"]))["email"] == "developer@example.org"
    # another non-admin user of the same organisation cannot revoke it
    assert_error(client.delete(f"/api/v1/tokens/{new['id']}", headers=auth("agronomist")), 404)
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=auth("admin")).status_code == 200
    assert_error(client.get("/api/v1/users/me", headers=_bearer(new["token"])), 401)


def test_another_organisations_users_and_tokens_are_404(client, auth, other_admin):
    theirs = _me(client, _bearer(other_admin))
    their_token = client.get(f"/api/v1/users/{theirs['id']}/tokens", headers=_bearer(other_admin)).get_json()
    for path in (f"/api/v1/users/{theirs['id']}", f"/api/v1/users/{theirs['id']}/tokens"):
        assert_error(client.get(path, headers=auth("admin")), 404)
    assert_error(client.post(f"/api/v1/users/{theirs['id']}/tokens", headers=auth("admin")), 404)
    for t in their_token["items"]:
        assert_error(client.delete(f"/api/v1/tokens/{t['id']}", headers=auth("admin")), 404)
    # their token still works, and no audit entry of ours names their user
    assert _me(client, _bearer(other_admin))["id"] == theirs["id"]
    assert all(e["payload"].get("user_id") != theirs["id"] for e in _audit_actions(client, auth("admin")))
    # and the same the other way round
    mine = _me(client, auth("admin"))
    assert_error(client.get(f"/api/v1/users/{mine['id']}", headers=_bearer(other_admin)), 404)


def test_the_audit_chain_verifies_after_user_changes(app, client, auth):
    from mrv_service.api.db import db_session
    from mrv_service.store.audit import verify

    client.post("/api/v1/users", json={"email": "chain@example.org", "role": "viewer"}, headers=auth())
    with app.app_context():
        assert verify(db_session()).ok
