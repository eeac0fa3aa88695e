"""An admin uploads a clip in the web UI; a real worker on the Redis broker preprocesses it; the
page updates itself to a ready clip whose frames are served."""

import pytest

from annotator.models import Clip
from tests.clip_files import write_video
from tests.factories import DatasetFactory

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_upload_in_the_browser_ends_with_a_ready_clip(
    celery_worker_process, live_server, page, log_in, admin_user, tmp_path
):
    DatasetFactory(name="CASME II")
    video = write_video(tmp_path / "EP02_01f.mp4", count=16)

    log_in(page, username=admin_user.username)
    page.click("text=Upload a clip")
    page.select_option("select[name=dataset]", label="CASME II")
    page.fill("input[name=subject_code]", "01")
    page.set_input_files("input[name=source]", str(video))
    page.get_by_role("button", name="Upload").click()

    page.wait_for_url("**/clips/*/")
    status = page.get_by_test_id("ingest-status")
    status.filter(has_text="Ready").wait_for(timeout=90_000)

    clip = Clip.objects.get(name="EP02_01f")
    assert clip.subject.code == "01" and clip.frame_count == 16
    images = page.locator(".filmstrip img")
    assert images.count() >= 4 * 4  # frame, two aligned sizes and motion, several frames each
    first = images.first
    first.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=first.element_handle()
    )
    response = page.request.get(live_server.url + first.get_attribute("src"))
    assert response.status == 200
    assert "immutable" in response.headers["cache-control"]
