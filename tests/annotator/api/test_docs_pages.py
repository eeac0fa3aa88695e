"""The API docs pages load Swagger UI and Redoc from this server's static files, so they work
without Internet access and send nothing to a CDN."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

pytestmark = pytest.mark.django_db

ASSET = re.compile(r'(?:src|href)="([^"]+)"')
ANY_URL = re.compile(r"(?:https?:)?//[\w.-]+\.\w+")


@pytest.mark.parametrize(
    ("url", "asset"),
    [
        ("/api/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_docs_pages_use_only_local_static_files(client, coder, url, asset):
    client.force_login(coder)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert ANY_URL.findall(page) == []
    assets = ASSET.findall(page)
    assert static(asset) in assets
    static_prefix = static("")
    own_script = f"{url}?script="  # Swagger UI's set-up, a file of its own under the CSP
    if own_script in assets:
        assets.remove(own_script)
        script = client.get(own_script)
        assert script["Content-Type"].startswith("application/javascript")
        assert ANY_URL.findall(script.content.decode()) == []
    for path in assets:
        assert path.startswith(static_prefix), path
        assert finders.find(path.removeprefix(static_prefix)), f"{path} is not a static file"
