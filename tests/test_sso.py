"""Single sign-on against a real OpenID provider: `oidc-provider-mock` runs as its own process (HTTP,
discovery, JWKS, RS256-signed id tokens); the app talks to it as it would to the city's provider.

The browser's part is played by hand: the app's redirect is checked (PKCE S256, state, nonce), the
provider's consent form is posted with `requests`, and its redirect back is followed into the app."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services.organisation import sso

from .conftest import csrf_token, user


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_provider(*args) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the OpenID provider did not start")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def provider():
    proc, url = _start_provider()
    yield url
    _stop(proc)


@pytest.fixture(scope="module")
def expiring_provider():
    """Issues id tokens that expired ten minutes before they were issued (beyond any clock leeway)."""
    proc, url = _start_provider("--token-max-age=-600")
    yield url
    _stop(proc)


def _person(provider_url: str, sub: str, **claims) -> str:
    assert requests.put(f"{provider_url}/users/{sub}", json=claims, timeout=10).status_code == 204
    return sub


@pytest.fixture()
def city(ctx, provider):
    ctx.config.update(OIDC_ISSUER=provider, OIDC_CLIENT_ID="danhgia", OIDC_CLIENT_SECRET="s3cret", OIDC_LEEWAY=60)
    yield provider
    ctx.config.update(OIDC_ISSUER="", OIDC_CLIENT_ID="", OIDC_CLIENT_SECRET="", LOCAL_LOGIN=True)
    ctx.extensions.pop("sso_client", None)


def _to_provider(client, provider_url: str) -> str:
    resp = client.get("/login/sso?next=/notifications")
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(f"{provider_url}/oauth2/authorize?")
    query = parse_qs(urlparse(location).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert query["client_id"] == ["danhgia"] and "openid" in query["scope"][0].split()
    return location


def _consent(authorize_url: str, sub: str) -> str:
    """The provider's consent form, posted as the person `sub`: returns the app's callback path."""
    resp = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text[:300]
    back = urlparse(resp.headers["Location"])
    assert back.path == "/login/sso/callback"
    return f"{back.path}?{back.query}"


def sign_in(client, provider_url: str, sub: str):
    return client.get(_consent(_to_provider(client, provider_url), sub))


def _signed_in_as(client) -> str | None:
    resp = client.get("/api/v1/tasks")  # no token: the session does not count for the API
    assert resp.status_code == 401
    page = client.get("/")
    if page.status_code != 200:
        return None
    return page.get_data(as_text=True)


def _events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_the_login_page_offers_the_city_account_only_when_configured(client, ctx, provider):
    assert "/login/sso" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/sso").status_code == 404
    ctx.config.update(OIDC_ISSUER=provider, OIDC_CLIENT_ID="danhgia")
    try:
        page = client.get("/login").get_data(as_text=True)
        assert "/login/sso" in page and "Đăng nhập bằng tài khoản của thành phố" in page
    finally:
        ctx.config.update(OIDC_ISSUER="", OIDC_CLIENT_ID="")


def test_sign_in_by_username(client, city):
    _person(city, "city-0001", preferred_username="ttb", email="someone.else@hanoi.gov.vn")
    resp = sign_in(client, city, "city-0001")
    assert resp.status_code == 302 and resp.headers["Location"] == "/notifications"
    page = _signed_in_as(client)
    assert page is not None and "Trần Thị Bình" in page
    event = _events("sso_login_succeeded")[-1]
    assert event.actor_id == user("ttb").id and event.details["sub"] == "city-0001"
    assert event.details["matched_by"] == "username" and event.details["issuer"] == city


def test_sign_in_by_email(client, city):
    hve = user("hve")
    hve.email = "Hoang.Van.E@hanoi.gov.vn"
    db.session.commit()
    _person(city, "city-0002", email="hoang.van.e@hanoi.gov.vn", email_verified=True)
    assert sign_in(client, city, "city-0002").status_code == 302
    assert _events("sso_login_succeeded")[-1].actor_id == hve.id
    assert _events("sso_login_succeeded")[-1].details["matched_by"] == "email"


def test_unknown_person_is_refused_and_nobody_is_created(client, city):
    from app.models import User

    people = db.session.scalar(select(db.func.count()).select_from(User))
    _person(city, "city-9999", preferred_username="nguoila", email="nguoi.la@hanoi.gov.vn")
    resp = sign_in(client, city, "city-9999")
    assert resp.status_code == 403
    body = resp.get_data(as_text=True)
    assert "nguoila" in body and "chưa được gắn với người nào" in body
    assert _signed_in_as(client) is None
    assert db.session.scalar(select(db.func.count()).select_from(User)) == people
    refused = _events("sso_login_refused")[-1]
    assert refused.actor_id is None and refused.step == "nguoila" and refused.details["reason"] == "unknown person"


def test_an_unverified_email_matches_nobody(client, city):
    hve = user("hve")
    hve.email = "hve.unverified@hanoi.gov.vn"
    db.session.commit()
    _person(city, "city-0003", email="hve.unverified@hanoi.gov.vn", email_verified=False)
    assert sign_in(client, city, "city-0003").status_code == 403
    assert _signed_in_as(client) is None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_tampered_id_token_is_refused(client, ctx, city, monkeypatch):
    """Someone between the app and the provider rewrites the id token to name the administrator: the
    signature no longer matches the provider's key."""
    _person(city, "city-0004", preferred_username="hve")
    client_app = sso._client()
    real_fetch = client_app.fetch_access_token

    def tampered(**params):
        token = real_fetch(**params)
        header, payload, signature = token["id_token"].split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["preferred_username"] == "hve"
        claims["preferred_username"] = "admin"
        token["id_token"] = ".".join([header, _b64(json.dumps(claims).encode()), signature])
        return token

    monkeypatch.setattr(client_app, "fetch_access_token", tampered)
    resp = sign_in(client, city, "city-0004")
    assert resp.status_code == 403 and "Không xác nhận được đăng nhập" in resp.get_data(as_text=True)
    assert _signed_in_as(client) is None
    assert not [e for e in _events("sso_login_succeeded")]
    assert "Signature" in _events("sso_login_refused")[-1].details["reason"]


def test_an_expired_id_token_is_refused(client, ctx, city, expiring_provider):
    ctx.config["OIDC_ISSUER"] = expiring_provider
    _person(expiring_provider, "city-0005", preferred_username="ttb")
    resp = sign_in(client, expiring_provider, "city-0005")
    assert resp.status_code == 403
    assert _signed_in_as(client) is None
    assert "Expired" in _events("sso_login_refused")[-1].details["reason"]


def test_a_state_that_is_not_this_browsers_is_refused(client, ctx, city):
    _person(city, "city-0006", preferred_username="ttb")
    callback = _consent(_to_provider(client, city), "city-0006")
    forged = callback.replace("state=", "state=x")
    assert client.get(forged).status_code == 403
    assert _signed_in_as(client) is None
    # another browser (no state in its session) bringing this browser's code is refused too
    other = ctx.test_client()
    assert other.get(callback).status_code == 403
    assert _signed_in_as(other) is None
    assert "State" in _events("sso_login_refused")[-1].details["reason"]


def test_the_provider_refusing_is_refused(client, city):
    location = _to_provider(client, city)
    resp = requests.post(location, data={"action": "deny"}, allow_redirects=False, timeout=10)
    back = urlparse(resp.headers["Location"])
    assert "error=access_denied" in back.query
    assert client.get(f"{back.path}?{back.query}").status_code == 403
    assert _signed_in_as(client) is None


def test_sign_out_ends_both_sessions(client, city):
    _person(city, "city-0007", preferred_username="ttb")
    assert sign_in(client, city, "city-0007").status_code == 302
    token = csrf_token(client.get("/").get_data(as_text=True))
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302
    end = urlparse(resp.headers["Location"])
    assert f"{end.scheme}://{end.netloc}" == city and end.path == "/oauth2/end_session"
    query = parse_qs(end.query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/login"] and query["client_id"] == ["danhgia"]
    hint = query["id_token_hint"][0]
    claims = json.loads(base64.urlsafe_b64decode(hint.split(".")[1] + "=="))
    assert claims["sub"] == "city-0007" and claims["aud"] in ("danhgia", ["danhgia"])
    assert _signed_in_as(client) is None  # ours ended before going to the provider
    page = requests.get(resp.headers["Location"], timeout=10)
    assert page.status_code == 200
    confirm = requests.post(
        f"{city}/oauth2/end_session/confirm",
        data={"redirect_uri": "http://localhost/login"},
        allow_redirects=False,
        timeout=10,
    )
    assert confirm.status_code == 302 and confirm.headers["Location"] == "http://localhost/login"


def test_a_password_sign_in_signs_out_locally_only(client, city):
    from .test_pages import login

    login(client, "ttb")
    token = csrf_token(client.get("/").get_data(as_text=True))
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"


def test_local_passwords_switched_off(client, ctx, city):
    token = csrf_token(client.get("/login").get_data(as_text=True))  # a form fetched before the switch
    ctx.config["LOCAL_LOGIN"] = False
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'type="password"' not in html and "/login/sso" in html
    resp = client.post("/login", data={"username": "ttb", "password": "DanhGia@2026", "csrf_token": token})
    assert resp.status_code == 403 and _signed_in_as(client) is None
    assert client.post("/api/v1/auth/token", json={"username": "ttb", "password": "DanhGia@2026"}).status_code == 403
    assert not _events("login_succeeded")
    _person(city, "city-0008", preferred_username="ttb")
    assert sign_in(client, city, "city-0008").status_code == 302  # the city's account still works
    assert _signed_in_as(client) is not None


def test_provider_unreachable_is_a_clear_503(client, ctx, city):
    ctx.config["OIDC_ISSUER"] = f"http://127.0.0.1:{_free_port()}"
    resp = client.get("/login/sso")
    assert resp.status_code == 503 and "tạm thời không truy cập được" in resp.get_data(as_text=True)


def _bound(username: str) -> str | None:
    db.session.expire_all()
    return user(username).sso_subject


def test_the_first_sign_in_binds_the_subject_and_the_next_uses_it(client, ctx, city, caplog):
    _person(city, "city-0101", preferred_username="ttb")
    assert _bound("ttb") is None
    with caplog.at_level(logging.INFO, logger="app.services.organisation.sso"):
        assert sign_in(client, city, "city-0101").status_code == 302
    lines = [r.getMessage() for r in caplog.records if r.name == "app.services.organisation.sso"]
    assert any("bound to subject city-0101" in line for line in lines)
    with client.session_transaction() as cookie:
        id_token = cookie["sso_id_token"]
    assert not [line for line in lines if id_token in line or id_token.split(".")[1] in line]
    assert _bound("ttb") == f"{city}|city-0101"
    bound = _events("sso_subject_bound")
    assert len(bound) == 1 and bound[0].actor_id == user("ttb").id
    assert bound[0].details == {"ip": "127.0.0.1", "sub": "city-0101", "issuer": city, "matched_by": "username"}
    assert _events("sso_login_succeeded")[-1].details["matched_by"] == "username"

    other = ctx.test_client()
    assert sign_in(other, city, "city-0101").status_code == 302
    page = _signed_in_as(other)
    assert page is not None and "Trần Thị Bình" in page
    assert _events("sso_login_succeeded")[-1].details["matched_by"] == "subject"
    assert _events("sso_login_succeeded")[-1].actor_id == user("ttb").id
    assert len(_events("sso_subject_bound")) == 1  # bound once


def test_another_subject_with_the_same_username_is_refused(client, ctx, city):
    """The provider gives the username `ttb` to a new city account (a namesake, a reissued account): the
    evaluation account stays with the city account it was bound to."""
    _person(city, "city-0102", preferred_username="ttb")
    assert sign_in(client, city, "city-0102").status_code == 302
    _person(city, "city-0103", preferred_username="ttb", email="ttb@hanoi.gov.vn", email_verified=True)
    stranger = ctx.test_client()
    resp = sign_in(stranger, city, "city-0103")
    assert resp.status_code == 403
    body = resp.get_data(as_text=True)
    assert "đã được gắn với một tài khoản khác của thành phố" in body and "ttb" in body
    assert _signed_in_as(stranger) is None
    assert _bound("ttb") == f"{city}|city-0102"
    refused = _events("sso_login_refused")[-1]
    assert refused.details["sub"] == "city-0103" and refused.details["user_id"] == user("ttb").id
    assert refused.details["reason"] == "bound to another subject (matched by username)"
    assert [e.details["sub"] for e in _events("sso_login_succeeded")] == ["city-0102"]
    # the same refusal in English for someone reading the site in English
    english = ctx.test_client()
    english.get("/language/en")
    resp = sign_in(english, city, "city-0103")
    assert resp.status_code == 403
    body = resp.get_data(as_text=True)
    assert "is bound to another city account" in body and "Trần Thị Bình" not in body


def test_a_verified_email_now_naming_another_city_account_is_refused(client, ctx, city):
    hve = user("hve")
    hve.email = "hoang.van.e@hanoi.gov.vn"
    db.session.commit()
    _person(city, "city-0104", email="hoang.van.e@hanoi.gov.vn", email_verified=True)
    assert sign_in(client, city, "city-0104").status_code == 302
    assert _bound("hve") == f"{city}|city-0104"
    _person(city, "city-0105", email="hoang.van.e@hanoi.gov.vn", email_verified=True)
    resp = sign_in(ctx.test_client(), city, "city-0105")
    assert resp.status_code == 403
    assert _events("sso_login_refused")[-1].details["reason"] == "bound to another subject (matched by email)"


def test_a_renamed_username_with_the_same_subject_signs_in_the_same_person(client, ctx, city):
    _person(city, "city-0106", preferred_username="ttb")
    assert sign_in(client, city, "city-0106").status_code == 302
    # the provider renames the account: to a name unknown here, then to another person's username
    for renamed in ("tran.thi.binh", "hve"):
        _person(city, "city-0106", preferred_username=renamed)
        browser = ctx.test_client()
        assert sign_in(browser, city, "city-0106").status_code == 302
        page = _signed_in_as(browser)
        assert page is not None and "Trần Thị Bình" in page
        event = _events("sso_login_succeeded")[-1]
        assert event.actor_id == user("ttb").id and event.details["matched_by"] == "subject"
    assert _bound("hve") is None


def test_a_subject_is_bound_per_issuer(client, ctx, city):
    """The same `sub` from another issuer is another city account."""
    _person(city, "city-0107", preferred_username="ttb")
    assert sign_in(client, city, "city-0107").status_code == 302
    ttb = user("ttb")
    ttb.sso_subject = "https://other-issuer.example|city-0107"
    db.session.commit()
    assert sign_in(ctx.test_client(), city, "city-0107").status_code == 403


def _unbind_page(client, username: str = "ttb"):
    return client.get(f"/admin/users?username={username}")


def _post_unbind(client, confirm: bool, username: str = "ttb"):
    token = csrf_token(client.get("/").get_data(as_text=True))
    data = {"csrf_token": token, "username": username}
    if confirm:
        data["confirm"] = "yes"
    return client.post("/admin/users/sso-unbind", data=data)


def test_an_administrator_unlinks_a_city_account_and_the_next_sign_in_binds_the_reissued_one(client, ctx, city):
    """The city reissues ttb's account (a new `sub`, the same username): refused while the old one is
    bound; the administrator's user page shows the binding and, once the confirmation is ticked, clears
    it with an audit row naming who and whose; the reissued account then binds at its first sign-in."""
    from .test_pages import login

    _person(city, "city-0110", preferred_username="ttb")
    assert sign_in(client, city, "city-0110").status_code == 302
    assert _bound("ttb") == f"{city}|city-0110"
    _person(city, "city-0111", preferred_username="ttb")
    assert sign_in(ctx.test_client(), city, "city-0111").status_code == 403  # reissued: refused, still bound

    admin = ctx.test_client()
    login(admin, "admin")
    page = _unbind_page(admin)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"{city}|city-0110" in html
    assert "Gỡ liên kết tài khoản thành phố" in html and "Unlink the city account" not in html
    assert 'name="confirm"' in html and "Chỉ gỡ liên kết khi thành phố đã cấp lại tài khoản" in html
    admin.get("/language/en")
    english = _unbind_page(admin).get_data(as_text=True)
    assert "Unlink the city account" in english and "Gỡ liên kết" not in english
    assert "Unlink only when the city has reissued this person's account" in english
    admin.get("/language/vi")

    # without the confirmation: back on the page, the error next to the box, nothing changed
    refused = _post_unbind(admin, confirm=False)
    assert refused.status_code == 302 and "/admin/users?username=ttb" in refused.headers["Location"]
    html = admin.get(refused.headers["Location"]).get_data(as_text=True)
    assert 'id="sso-unbind-confirm-error"' in html and "Hãy đánh dấu xác nhận trước khi gỡ liên kết." in html
    assert _bound("ttb") == f"{city}|city-0110" and not _events("sso_subject_unbound")

    done = _post_unbind(admin, confirm=True)
    assert done.status_code == 302
    html = admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "Đã gỡ liên kết tài khoản thành phố của Trần Thị Bình." in html and 'id="sso-unbind"' not in html
    assert _bound("ttb") is None
    # the browser signed in through the old city account is signed out with the binding
    assert _signed_in_as(client) is None
    (event,) = _events("sso_subject_unbound")
    assert event.actor_id == user("admin").id and event.step == "ttb"
    assert event.details == {
        "user_id": user("ttb").id,
        "username": "ttb",
        "subject": f"{city}|city-0110",
        "source": "page",
    }
    # a second click (a stale page): said on the page, no second row
    again = _post_unbind(admin, confirm=True)
    assert again.status_code == 302
    assert "chưa liên kết với tài khoản nào của thành phố" in admin.get(again.headers["Location"]).get_data(
        as_text=True
    )
    assert len(_events("sso_subject_unbound")) == 1

    reissued = ctx.test_client()
    assert sign_in(reissued, city, "city-0111").status_code == 302
    assert "Trần Thị Bình" in (_signed_in_as(reissued) or "")
    assert _bound("ttb") == f"{city}|city-0111"
    assert _events("sso_subject_bound")[-1].details["sub"] == "city-0111"
    # and the old city account is now the one refused
    assert sign_in(ctx.test_client(), city, "city-0110").status_code == 403


@pytest.mark.parametrize("username", ["nva", "ttb", "gd"])
def test_only_administrators_unlink_a_city_account(client, ctx, city, username):
    """An HR officer (nva), the person themself (ttb) and a head (gd): 403 on the page and on the POST,
    the binding and the audit trail unchanged; signed out, the page sends to the sign-in."""
    from .test_pages import login

    _person(city, "city-0112", preferred_username="ttb")
    assert sign_in(client, city, "city-0112").status_code == 302
    assert client.get("/admin/users?username=ttb").status_code == 403  # ttb, through the city's account
    other = ctx.test_client()
    login(other, username)
    assert _unbind_page(other).status_code == 403
    assert _post_unbind(other, confirm=True).status_code == 403
    anonymous = ctx.test_client()
    assert anonymous.get("/admin/users?username=ttb").status_code == 302
    assert _bound("ttb") == f"{city}|city-0112" and not _events("sso_subject_unbound")
    from app.services.errors import Forbidden

    with pytest.raises(Forbidden):  # the service asks too, whatever the route does
        sso.unbind(user(username), "ttb", confirmed=True, source="page")
    assert _bound("ttb") == f"{city}|city-0112"


def test_the_command_unlinks_a_city_account(client, ctx, city):
    """`flask accounts sso-unbind USERNAME`: asks first (no, nothing changes), clears the binding with an
    audit row (no actor: the command line, with the operator's login name), says so; an unknown or unbound
    person is an error exit with nothing written; the next sign-in binds the reissued account."""
    _person(city, "city-0113", preferred_username="ttb")
    assert sign_in(client, city, "city-0113").status_code == 302
    runner = ctx.test_cli_runner()

    declined = runner.invoke(args=["accounts", "sso-unbind", "ttb"], input="n\n")
    assert declined.exit_code == 1 and "Unlink the city account of ttb?" in declined.output
    assert _bound("ttb") == f"{city}|city-0113" and not _events("sso_subject_unbound")

    done = runner.invoke(args=["accounts", "sso-unbind", "ttb"], input="y\n")
    assert done.exit_code == 0, done.output
    assert "unbound=ttb" in done.output
    assert _bound("ttb") is None
    # the browser signed in through the old city account is signed out with the binding
    assert _signed_in_as(client) is None
    (event,) = _events("sso_subject_unbound")
    assert event.actor_id is None and event.step == "ttb"
    assert event.details["source"] == "cli" and event.details["subject"] == f"{city}|city-0113"
    assert event.details["user_id"] == user("ttb").id

    for name in ("ttb", "nobody"):  # unbound now; unknown
        failed = runner.invoke(args=["accounts", "sso-unbind", name, "--yes"])
        assert failed.exit_code == 1, failed.output
    assert "chưa liên kết" in runner.invoke(args=["accounts", "sso-unbind", "ttb", "--yes"]).output
    assert len(_events("sso_subject_unbound")) == 1

    _person(city, "city-0114", preferred_username="ttb")
    assert sign_in(ctx.test_client(), city, "city-0114").status_code == 302
    assert _bound("ttb") == f"{city}|city-0114"
