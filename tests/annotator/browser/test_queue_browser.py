"""The coding plan as coders and reviewers live it in Debian Chromium: a clip goes to as many coders
as its dataset asks, a reviewer's look claims nothing, a coder releases a clip, and blind coding
hides the model's proposal until the coder submits."""

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation, Dataset
from tests.annotator.support.proposals import model_version, propose
from tests.factories import UserFactory
from tests.waiting import live_server_requests_finish

pytestmark = pytest.mark.browser


def open_workbench(page, live_server, clip):
    page.goto(f"{live_server.url}/clips/{clip.pk}/code/")
    expect(page.get_by_test_id("load-status")).to_contain_text("frames loaded", timeout=20_000)


def expect_saved(page):
    expect(page.locator("#save-status")).to_have_attribute("data-state", "saved", timeout=10_000)


def switch_user(page, log_in, user):
    """Another coder at the same browser: the page left first, so the last one's workbench (its
    frames still loading) is not serving requests while the next one logs in."""
    page.goto("about:blank")
    live_server_requests_finish()
    page.context.clear_cookies()
    log_in(page, username=user.username)


def test_a_plan_of_two_gives_the_clip_to_two_coders_and_shows_the_third_why_not(
    live_server, page, log_in, ready_clip, coder
):
    clip = ready_clip(frames=12)
    second, third = (UserFactory(username=name, role="coder") for name in ("coder2", "coder3"))
    for user in (coder, second):
        switch_user(page, log_in, user)
        page.goto(f"{live_server.url}/queue/")
        page.click("text=Next clip")
        page.wait_for_url(f"**/clips/{clip.pk}/code/")
        expect(page.get_by_role("button", name="Submit")).to_be_visible()
    assert Annotation.objects.filter(clip=clip, status=Annotation.Status.DRAFT).count() == 2

    switch_user(page, log_in, third)
    page.goto(f"{live_server.url}/queue/")
    expect(page.locator("#up-next")).not_to_contain_text(clip.name)
    page.click("text=Next clip")
    page.wait_for_url("**/queue/?done=1")
    open_workbench(page, live_server, clip)  # a link from "All clips": a look, not a claim
    expect(page.get_by_test_id("claim-refusal")).to_contain_text("already has the 2 coders")
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)
    expect(page.locator("#save-status")).to_have_text("Preview — read only")
    assert not Annotation.objects.filter(clip=clip, coder=third).exists()


def test_a_reviewer_looks_without_claiming_until_code_this_clip(
    live_server, page, log_in, ready_clip
):
    clip = ready_clip(frames=12)
    reviewer = UserFactory(username="rita", role="reviewer")
    log_in(page, username=reviewer.username)
    open_workbench(page, live_server, clip)
    expect(page.get_by_test_id("preview")).to_contain_text("nothing is claimed")
    expect(page.get_by_test_id("preview")).to_contain_text("blind double coding, 2 coders")
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)
    expect(page.locator("#onset")).to_be_disabled()
    assert not Annotation.objects.filter(clip=clip).exists()

    page.get_by_role("button", name="Code this clip").click()
    page.wait_for_url(f"**/clips/{clip.pk}/code/")
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    expect(page.get_by_test_id("preview")).to_have_count(0)
    draft = Annotation.objects.get(clip=clip, coder=reviewer)
    assert draft.status == Annotation.Status.DRAFT


def test_a_coder_releases_a_clip_and_is_asked_before_marks_are_discarded(
    live_server, page, log_in, ready_clip, coder
):
    page.set_viewport_size({"width": 1280, "height": 720})
    clip = ready_clip(frames=12)
    Dataset.objects.filter(pk=clip.subject.dataset_id).update(coders_per_clip=1)
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)
    release = page.get_by_role("button", name="Release this clip")
    box = release.bounding_box()  # in the foot row beside Submit, in view at 1280x720
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720, box
    release.click()  # untouched: no question
    page.wait_for_url("**/queue/")
    expect(page.locator("p.notice")).to_contain_text(f"Released {clip.name}")
    assert not Annotation.objects.filter(clip=clip).exists()
    expect(page.locator("#up-next")).to_contain_text(clip.name)  # back in the queue

    open_workbench(page, live_server, clip)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("q")  # onset at 47
    expect_saved(page)
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Release this clip").click()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    assert questions == [
        "Release this clip? Your marks on it are discarded and it goes back to the queue."
    ]
    assert Annotation.objects.get(clip=clip, coder=coder).onset == 47

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Release this clip").click()
    page.wait_for_url("**/queue/")
    assert not Annotation.objects.filter(clip=clip).exists()
    # The clip is free for the next coder at once, not after the claim's 30 minutes.
    switch_user(page, log_in, UserFactory(username="coder2", role="coder"))
    page.goto(f"{live_server.url}/queue/")
    expect(page.locator("#up-next")).to_contain_text(clip.name)


def test_blind_coding_hides_the_proposal_until_submit_and_assisted_coding_shows_it(
    live_server, page, log_in, ready_clip, coder
):
    blind, assisted = ready_clip(frames=12, name="blind_01"), ready_clip(frames=12, name="aid_01")
    version = model_version()
    propose(blind, version, apex=52, coding_mode=Dataset.CodingMode.BLIND)
    propose(assisted, version, apex=53)
    log_in(page, username=coder.username)

    open_workbench(page, live_server, blind)
    expect(page.get_by_test_id("proposal-blind")).to_contain_text("hidden until you submit")
    expect(page.get_by_test_id("proposed-apex")).to_have_count(0)
    expect(page.get_by_test_id("timeline-legend")).to_have_count(0)
    page.keyboard.press("Shift+A")  # no proposal to accept
    page.keyboard.press("ArrowRight")
    page.keyboard.press("q")  # onset at 47
    page.keyboard.press("End")
    page.keyboard.press("e")  # offset at 57
    page.keyboard.press("h")
    expect_saved(page)
    draft = Annotation.objects.get(clip=blind, coder=coder)
    assert draft.apex is None
    assert draft.provenance == Annotation.Provenance.MANUAL and draft.proposal_version is None
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/clips/{assisted.pk}/code/")  # the next clip in the queue
    open_workbench(page, live_server, blind)  # submitted: now the model's view may be seen
    expect(page.get_by_test_id("proposed-apex")).to_have_text("52")
    submitted = Annotation.objects.get(clip=blind, coder=coder)
    assert submitted.status == Annotation.Status.SUBMITTED
    assert submitted.provenance == Annotation.Provenance.MANUAL

    open_workbench(page, live_server, assisted)
    expect(page.get_by_test_id("proposed-apex")).to_have_text("53")
    expect(page.get_by_test_id("timeline-legend")).to_contain_text(
        "model's proposed apex: frame 53"
    )
    shown = Annotation.objects.get(clip=assisted, coder=coder)
    assert shown.provenance == Annotation.Provenance.MODEL_ASSISTED
    assert shown.proposal_version == version


def test_a_coder_releases_drafts_from_the_queue_page(live_server, page, log_in, ready_clip, coder):
    untouched, edited = ready_clip(frames=10, name="EP01_01"), ready_clip(frames=10, name="EP01_02")
    Annotation.objects.create(clip=untouched, coder=coder)
    Annotation.objects.create(clip=edited, coder=coder, onset=47, revision=2)
    log_in(page, username=coder.username)
    page.goto(f"{live_server.url}/queue/")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))

    page.get_by_test_id(f"release-{untouched.pk}").click()  # never saved: no question
    expect(page.locator("p.notice")).to_contain_text(f"Released {untouched.name}")
    assert questions == []
    assert not Annotation.objects.filter(clip=untouched).exists()

    page.get_by_test_id(f"release-{edited.pk}").click()
    expect(page.locator("p.notice")).to_contain_text(f"Released {edited.name}")
    assert questions == [
        f"Release {edited.name}? Your draft's marks are discarded and the clip goes back to the "
        "queue."
    ]
    assert not Annotation.objects.filter(clip=edited).exists()
    expect(page.get_by_test_id(f"release-{edited.pk}")).to_have_count(0)
