"""The reviewer adjudicates over the frames in Debian Chromium: the workbench's frame player, read
only, with every coder's marks as labelled lanes, keys that jump between them, and the
adjudication form beside it driven by the workbench's keys."""

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def double_coded(db, ready_clip, coder):
    clip = ready_clip(frames=20)  # frames 46..65
    happiness = clip.subject.dataset.emotions.get(name="happiness")
    second = UserFactory(username="coder2", role="coder")
    for who, (onset, apex, offset) in ((coder, (50, 55, 60)), (second, (52, 57, 62))):
        Annotation.objects.create(
            clip=clip,
            coder=who,
            onset=onset,
            apex=apex,
            offset=offset,
            emotion=happiness,
            action_units=[{"au": 12}],
            status=Annotation.Status.SUBMITTED,
        )
    UserFactory(username="rita", role="reviewer")
    return clip


def open_review(page, live_server, log_in, clip):
    log_in(page, username="rita")
    page.goto(f"{live_server.url}/review/{clip.pk}/")
    expect(page.get_by_test_id("load-status")).to_contain_text("frames loaded", timeout=20_000)


def frame_number(page) -> str:
    return page.get_by_test_id("frame-number").inner_text()


def test_the_reviewer_jumps_between_coders_marks_and_adjudicates_with_the_workbench_keys(
    live_server, page, log_in, double_coded
):
    clip = double_coded
    open_review(page, live_server, log_in, clip)
    legend = page.get_by_test_id("lane-legend")
    expect(legend).to_contain_text("coder1: onset 50, apex 55, offset 60")
    expect(legend).to_contain_text("coder2: onset 52, apex 57, offset 62")
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)  # nothing to autosave

    page.keyboard.press("Home")
    page.keyboard.press("]")
    assert frame_number(page) == "50"
    expect(page.get_by_test_id("lane-mark")).to_have_text("coder1's onset")
    page.keyboard.press("]")
    assert frame_number(page) == "52"
    expect(page.get_by_test_id("lane-mark")).to_have_text("coder2's onset")
    page.keyboard.press("q")  # the final's onset: coder2's
    page.keyboard.press("]")
    page.keyboard.press("]")
    assert frame_number(page) == "57"
    page.keyboard.press("w")
    page.keyboard.press("[")
    assert frame_number(page) == "55"
    expect(page.get_by_test_id("lane-mark")).to_have_text("coder1's apex")
    page.keyboard.press("End")
    page.keyboard.press("[")
    assert frame_number(page) == "62"
    page.keyboard.press("e")
    page.keyboard.type("R6B")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(page.locator("#au-list")).to_contain_text("R6B")
    expect(page.locator("#onset")).to_have_value("52")
    expect(page.locator("#apex")).to_have_value("57")
    expect(page.locator("#offset")).to_have_value("62")

    # The difference and motion views are the workbench's.
    page.keyboard.press("v")
    expect(page.locator("#view-mode")).not_to_have_value("single-frame")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_contain_text("jump to the next coder's mark")
    page.keyboard.press("Escape")

    page.fill("textarea[name=notes]", "onset where AU6 starts")
    page.get_by_role("button", name="Save adjudication").click()
    expect(page.get_by_test_id("lane-legend")).to_contain_text(
        "final: onset 52, apex 57, offset 62"
    )
    final = Annotation.objects.get(clip=clip, status=Annotation.Status.ADJUDICATED)
    assert (final.onset, final.apex, final.offset) == (52, 57, 62)
    assert {str(entry) for entry in final.au_entries} == {"12", "R6B"}
    assert final.notes == "onset where AU6 starts"


def test_a_refused_adjudication_keeps_what_the_reviewer_set(
    live_server, page, log_in, double_coded
):
    clip = double_coded
    open_review(page, live_server, log_in, clip)
    page.keyboard.press("End")
    page.keyboard.press("q")  # onset at 65, after coder1's offset 60 that the form starts from
    page.keyboard.type("L14A")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Save adjudication").click()
    expect(
        page.locator("#annotation-form .field-error").filter(has_text="onset")
    ).not_to_have_count(0)
    expect(page.locator("#onset")).to_have_value("65")
    expect(page.locator("#au-list")).to_contain_text("L14A")
    assert not Annotation.objects.filter(clip=clip, status=Annotation.Status.ADJUDICATED).exists()
