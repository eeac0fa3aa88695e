"""The Content-Security-Policy: every page is served with it, it refuses inline script, and the
pages still work under it in Chromium (the `page` fixture fails any browser test during which
the policy refused something, so the workbench tests run under it too)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


def test_pages_scripts_run_from_this_site_only(client, admin_user):
    client.force_login(admin_user)
    for url in ("/", "/queue/", "/review/", "/profile/", "/training/", "/admin/", "/login/"):
        policy = directives(client.get(url))
        assert policy["script-src"] == "'self'", url
        assert policy["style-src"] == "'self'", url
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    docs = directives(client.get("/api/docs/"))
    assert docs["script-src"] == "'self'"
    assert "'unsafe-inline'" in docs["style-src"]  # the docs renderers style inline


@pytest.mark.browser
def test_the_api_docs_render_under_the_policy(live_server, chromium, log_in, admin_user):
    context = chromium.new_context()
    page = context.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text))
    log_in(page, username=admin_user.username)
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .title")).to_contain_text("MEStudio API", timeout=20_000)
    page.goto(f"{live_server.url}/api/redoc/")
    expect(page.locator("h1")).to_contain_text("MEStudio API", timeout=20_000)
    context.close()
    # Redoc's "powered by" badge asks for its logo from cdn.redoc.ly: the policy keeps the docs
    # from loading anything from elsewhere, and that is the only thing it refuses.
    csp_refusals = [text for text in refused if "Content Security Policy" in text]
    assert all("https://cdn.redoc.ly/" in text for text in csp_refusals), csp_refusals


@pytest.mark.browser
def test_an_injected_inline_script_does_not_run(live_server, chromium, coder):
    """As an XSS payload would be: a <script> added to a served page is refused."""
    context = chromium.new_context()
    page = context.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text))
    page.goto(f"{live_server.url}/login/")
    with pytest.raises(Exception, match=r"Content Security Policy|Refused"):
        page.add_script_tag(content="window.injected = true;")
    assert page.evaluate("window.injected === undefined")
    assert any("Content Security Policy" in text for text in refused)
    context.close()
