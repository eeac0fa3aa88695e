"""Tokens (API and profile page), login throttling, the next-clip queue, and error bodies for
requests that never reach a view."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from annotator.accounts.tokens import token_create
from annotator.models import Annotation
from tests.factories import AnnotationFactory, ClipFactory

pytestmark = pytest.mark.django_db


def test_token_lifecycle_over_the_api(client, coder):
    client.force_login(coder)  # the browser session creates the first token
    assert client.get("/api/v1/tokens/").status_code == 404
    created = client.post("/api/v1/tokens/")
    assert created.status_code == 201
    key = created.json()["key"]
    assert client.get("/api/v1/tokens/").json()["key_prefix"] == key[:6]

    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert script.get("/api/v1/clips/").status_code == 200

    replaced = script.post("/api/v1/tokens/").json()["key"]
    assert replaced != key
    assert script.get("/api/v1/clips/").status_code == 401  # the old key stopped working
    script.credentials(HTTP_AUTHORIZATION=f"Token {replaced}")
    assert script.delete("/api/v1/tokens/").status_code == 204
    assert script.get("/api/v1/clips/").status_code == 401


def test_session_writes_need_the_csrf_token(coder):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(coder)
    refused = browser.post("/api/v1/tokens/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["errors"][0]["message"]


def test_login_endpoint_trades_a_password_for_the_token_and_is_throttled(coder):
    api = APIClient()
    good = api.post(
        "/api/v1/auth/token/", {"username": "coder1", "password": "pw-for-tests"}, format="json"
    )
    assert good.status_code == 200
    same = api.post(
        "/api/v1/auth/token/", {"username": "coder1", "password": "pw-for-tests"}, format="json"
    )
    # Each log-in is a token of its own (the server cannot show an earlier key: it keeps hashes).
    assert same.json()["key"] != good.json()["key"]
    for key in (good.json()["key"], same.json()["key"]):
        script = APIClient()
        script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert script.get("/api/v1/tokens/").json()["live_tokens"] == 2

    bad = api.post("/api/v1/auth/token/", {"username": "coder1", "password": "x"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {
            "field": None,
            "code": "invalid_credentials",
            "message": "Unknown username or wrong password.",
        }
    ]
    for _ in range(7):  # 10 per minute in all, right password or not
        api.post(
            "/api/v1/auth/token/", {"username": "coder1", "password": "pw-for-tests"}, format="json"
        )
    throttled = api.post(
        "/api/v1/auth/token/", {"username": "coder1", "password": "pw-for-tests"}, format="json"
    )
    assert throttled.status_code == 429
    assert throttled.json()["errors"][0]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0


def test_profile_page_creates_shows_once_and_revokes_the_token(client, coder):
    client.force_login(coder)
    page = client.get("/profile/").content.decode()
    assert "You have no API token." in page and "coder" in page
    created = client.post("/profile/", {"action": "create"}).content.decode()
    [key] = re.findall(r'<pre id="new-token">([0-9a-f]+)</pre>', created)
    later = client.get("/profile/").content.decode()
    assert key not in later and f"<code>{key[:6]}…</code>" in later and "expires" in later
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert script.get("/api/v1/clips/").status_code == 200
    client.post("/profile/", {"action": "revoke"})
    assert script.get("/api/v1/clips/").status_code == 401
    assert "You have no API token." in client.get("/profile/").content.decode()
    assert client.post("/profile/", {"action": "steal"}).status_code == 400
    assert 'href="/profile/"' in client.get("/").content.decode()


def test_keys_are_stored_hashed_and_expire(coder, settings):
    issued = token_create(user=coder)
    stored = AuthToken.objects.get(user=coder)
    assert issued.key not in (stored.digest, stored.token_key)
    assert stored.digest == hash_token(issued.key)
    lifetime = stored.expiry - stored.created
    assert abs(lifetime - settings.API_TOKEN_TTL) < timedelta(minutes=1)

    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert script.get("/api/v1/clips/").status_code == 200
    AuthToken.objects.filter(user=coder).update(expiry=timezone.now() - timedelta(seconds=1))
    expired = script.get("/api/v1/clips/")
    assert expired.status_code == 401
    assert not AuthToken.objects.filter(user=coder).exists()  # knox removes what has expired


def test_next_clip_follows_the_coders_own_progress(api_as, coder, other_coder):
    first, second = ClipFactory(), ClipFactory()
    AnnotationFactory(clip=first, coder=other_coder, status="submitted", onset=50, offset=60)
    api = api_as(coder)
    claimed = api.post("/api/v1/queue/next/").json()  # others' submitted work is invisible
    assert claimed["clip"]["id"] == first.pk
    assert (claimed["annotation"]["status"], claimed["annotation"]["coder"]) == ("draft", "coder1")
    again = api.post("/api/v1/queue/next/").json()  # the draft in progress comes first
    assert again["annotation"]["id"] == claimed["annotation"]["id"]
    Annotation.objects.filter(pk=claimed["annotation"]["id"]).update(
        status="submitted", onset=50, offset=60
    )
    nxt = api.post("/api/v1/queue/next/").json()
    assert nxt["clip"]["id"] == second.pk
    Annotation.objects.filter(pk=nxt["annotation"]["id"]).update(
        status="submitted", onset=50, offset=60
    )
    done = api.post("/api/v1/queue/next/")
    assert done.status_code == 204 and done.content == b""
    queue = api.get("/api/v1/queue/").json()["results"]
    assert [(row["id"], row["my_status"]) for row in queue] == [
        (first.pk, "submitted"),
        (second.pk, "submitted"),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/nothing-here/",
        "/api/v1/clips",  # no trailing slash
        "/api/v2/clips/",
        "/api/v1/clips/abc/",
        "/api/v1/clips/99999999999999999999999/",
        "/api/v1/annotations/99999999999999999999999/",
        "/api/v1/reviews/99999999999999999999999/",
    ],
)
def test_unknown_urls_and_ids_answer_json_404(api_as, coder, reviewer, url):
    api = api_as(reviewer)
    response = api.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "not_found"


def test_malformed_json_is_a_parse_error(api_as, coder):
    response = api_as(coder).generic(
        "POST", "/api/v1/annotations/", b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"


def test_schema_and_docs_pages_are_served_to_users(client, api_as, coder):
    openapi = {"HTTP_ACCEPT": "application/vnd.oai.openapi+json"}
    assert client.get("/api/schema/", **openapi).status_code == 401
    for page in ("/api/docs/", "/api/redoc/"):
        refused = client.get(page)
        assert refused.status_code == 302 and refused["Location"].startswith("/login/?next=")

    schema = api_as(coder).get("/api/schema/", **openapi)  # a script with its token
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/annotations/{id}/submit/" in paths and "/api/v1/queue/next/" in paths
    client.force_login(coder)
    assert client.get("/api/schema/", **openapi).status_code == 200
    assert b"swagger-ui" in client.get("/api/docs/").content
    assert b"redoc" in client.get("/api/redoc/").content


def test_a_setting_opens_the_schema_and_docs_to_anyone(client, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get("/api/schema/").status_code == 200
    assert b"swagger-ui" in client.get("/api/docs/").content


def test_a_post_to_an_unknown_api_url_with_a_session_cookie_is_a_json_404(coder):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(coder)
    response = browser.post("/api/v1/annotations/0.5/submit/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_keys_made_before_the_move_to_hashes_keep_working_and_lose_their_plain_copy(coder):
    """Migration 0009 on a database that still has DRF's plain-text authtoken table."""
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    migration = import_module("annotator.migrations.0009_api_tokens_hashed")
    old_key = "0123456789abcdef0123456789abcdef01234567"  # DRF's format: 40 hex digits
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [old_key, timezone.now(), coder.pk]
        )
    with connection.schema_editor() as editor:
        migration.hash_existing_keys(apps, editor)

    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {old_key}")
    assert script.get("/api/v1/clips/").status_code == 200
    assert AuthToken.objects.get(user=coder).expiry > timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
