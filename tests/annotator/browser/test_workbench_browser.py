"""Coders at the workbench in Debian Chromium: stepping with keys, marking, emotion and AU entry,
autosave, submit; blind double coding; stale saves from two tabs; invalid marks."""

import re

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def open_workbench(page, live_server, clip):
    page.goto(f"{live_server.url}/clips/{clip.pk}/code/")
    expect(page.get_by_test_id("load-status")).to_contain_text("frames loaded", timeout=20_000)


def frame_number(page) -> str:
    return page.get_by_test_id("frame-number").inner_text()


def expect_saved(page):
    expect(page.locator("#save-status")).to_have_attribute("data-state", "saved", timeout=10_000)


def test_coder_marks_codes_submits_and_finds_everything_after_reload(
    live_server, page, log_in, ready_clip, coder
):
    clip = ready_clip(frames=30)  # frames 46..75
    log_in(page, username=coder.username)
    page.goto(f"{live_server.url}/queue/")
    expect(page.locator("#up-next")).to_contain_text(clip.name)
    page.click("text=Next clip")
    page.wait_for_url(f"**/clips/{clip.pk}/code/")
    expect(page.get_by_test_id("load-status")).to_contain_text("frames loaded", timeout=20_000)

    assert frame_number(page) == "46"
    page.keyboard.press("ArrowRight")
    assert frame_number(page) == "47"
    page.keyboard.press("Shift+ArrowRight")
    assert frame_number(page) == "57"
    page.keyboard.press("End")
    assert frame_number(page) == "75"
    page.keyboard.press("Home")
    assert frame_number(page) == "46"

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("q")  # onset at 48
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("w")  # apex at 58
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("e")  # offset at 69
    page.keyboard.press("h")  # happiness
    page.keyboard.type("R12B")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.keyboard.press("6")  # a digit starts AU entry by itself
    page.keyboard.press("Enter")
    expect(page.locator("#au-list li")).to_have_count(2)
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Q")
    assert frame_number(page) == "48"
    expect_saved(page)

    stored = Annotation.objects.get(clip=clip, coder=coder)
    assert (stored.onset, stored.apex, stored.offset) == (48, 58, 69)
    assert stored.emotion.name == "happiness"
    assert [str(code) for code in stored.au_codes] == ["R12B", "6"]
    assert stored.status == Annotation.Status.DRAFT

    confirmations = []

    def confirm(dialog):
        confirmations.append((dialog.type, dialog.message))
        dialog.accept()

    page.once("dialog", lambda dialog: dialog.dismiss())  # changing one's mind keeps the draft
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#submit-button")).to_be_visible()
    assert Annotation.objects.get(clip=clip, coder=coder).status == Annotation.Status.DRAFT
    page.on("dialog", confirm)
    page.fill("#notes", "last words")  # still pending: submit carries it, leaving does not warn
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/queue/?done=1")
    assert Annotation.objects.get(clip=clip, coder=coder).notes == "last words"
    assert confirmations == [
        ("confirm", "Submit this annotation? It cannot be changed afterwards.")
    ]
    page.goto(f"{live_server.url}/clips/{clip.pk}/code/")
    expect(page.locator("#onset")).to_have_value("48")
    expect(page.locator("#apex")).to_have_value("58")
    expect(page.locator("#offset")).to_have_value("69")
    expect(page.locator("input[name=emotion]:checked")).to_have_count(1)
    expect(page.locator("#au-list")).to_contain_text("R12B")
    expect(page.locator("#save-status")).to_contain_text("Submitted")
    assert Annotation.objects.get(clip=clip, coder=coder).status == Annotation.Status.SUBMITTED


def test_undo_restores_the_previous_marks(live_server, page, log_in, ready_clip, coder):
    clip = ready_clip(frames=12)
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)
    page.keyboard.press("q")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("q")
    expect(page.locator("#onset")).to_have_value("47")
    page.keyboard.press("u")
    expect(page.locator("#onset")).to_have_value("46")
    expect_saved(page)
    assert Annotation.objects.get(clip=clip, coder=coder).onset == 46


def test_second_coder_sees_nothing_of_the_first(live_server, page, log_in, ready_clip, coder):
    clip = ready_clip(frames=12)
    Annotation.objects.create(
        clip=clip,
        coder=coder,
        onset=47,
        offset=52,
        notes="first coder's note",
        status=Annotation.Status.SUBMITTED,
    )
    second = UserFactory(username="coder2", role="coder")
    log_in(page, username=second.username)
    page.goto(f"{live_server.url}/queue/")
    expect(page.locator("table").last).to_contain_text("not started")
    open_workbench(page, live_server, clip)
    expect(page.locator("#onset")).to_have_value("")
    expect(page.locator("#offset")).to_have_value("")
    expect(page.locator("#notes")).to_have_value("")
    assert "first coder" not in page.content()


def test_stale_save_from_a_second_tab_lets_the_coder_choose(
    live_server, chromium, log_in, ready_clip, coder
):
    clip = ready_clip(frames=12)
    context = chromium.new_context()
    tab_a, tab_b = context.new_page(), context.new_page()
    log_in(tab_a, username=coder.username)
    open_workbench(tab_a, live_server, clip)
    open_workbench(tab_b, live_server, clip)

    tab_a.keyboard.press("ArrowRight")
    tab_a.keyboard.press("q")
    expect_saved(tab_a)

    tab_b.keyboard.press("End")
    tab_b.keyboard.press("q")
    status = tab_b.locator("#save-status")
    expect(status).to_have_attribute("data-state", "stale", timeout=10_000)
    expect(status).to_contain_text("You saved this draft at")
    expect(status).to_contain_text("in another tab or window")
    expect(status).not_to_contain_text("someone else")
    expect(tab_b.locator("[data-testid=conflict] tr[data-field]")).to_have_count(1)
    expect(tab_b.locator("tr[data-field=onset]")).to_contain_text("4757")
    expect(tab_b.locator("#onset")).to_have_value("57")  # tab B's edit is still on screen
    assert Annotation.objects.get(clip=clip, coder=coder).onset == 47  # tab A's save stands

    tab_b.fill("#notes", "from tab B")  # later edits are refused too until the coder chooses
    expect(tab_b.locator("tr[data-field=notes]")).to_contain_text("from tab B", timeout=10_000)
    assert Annotation.objects.get(clip=clip, coder=coder).notes == ""
    tab_b.get_by_role("button", name="Copy my edits").click()
    expect(tab_b.get_by_test_id("conflict-copy")).to_have_value(
        re.compile("Onset 57.*from tab B", re.S)
    )
    tab_b.get_by_role("button", name="Keep my edits (overwrite)").click()
    expect_saved(tab_b)
    stored = Annotation.objects.get(clip=clip, coder=coder)
    assert (stored.onset, stored.notes, stored.revision) == (57, "from tab B", 3)

    tab_a.keyboard.press("e")  # tab A is now the stale one
    expect(tab_a.locator("#save-status")).to_have_attribute("data-state", "stale", timeout=10_000)
    tab_a.get_by_role("button", name="Take the saved version").click()
    expect(tab_a.locator("#onset")).to_have_value("57")
    expect(tab_a.locator("#notes")).to_have_value("from tab B")
    expect(tab_a.locator("#offset")).to_have_value("")
    tab_a.keyboard.press("End")
    tab_a.keyboard.press("e")
    expect_saved(tab_a)
    stored.refresh_from_db()
    assert (stored.onset, stored.offset, stored.notes) == (57, 57, "from tab B")
    context.close()


def test_inconsistent_marks_are_kept_in_the_draft_and_refused_only_at_submit(
    live_server, page, log_in, ready_clip, coder
):
    clip = ready_clip(frames=12)  # frames 46..57
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)
    page.keyboard.press("End")
    page.keyboard.press("q")  # onset at the last frame
    page.keyboard.press("Home")
    page.keyboard.press("e")  # offset before onset
    page.keyboard.press("w")  # apex before onset
    expect(page.locator("#error-offset")).to_contain_text("must not come before onset")
    expect(page.locator("#error-apex")).to_contain_text("must not come before onset")
    page.fill("#notes", "AU12 rises late")
    page.locator("#workbench").focus()
    page.keyboard.type("R12B")
    page.keyboard.press("Enter")
    expect_saved(page)
    expect(page.locator("#save-status")).to_contain_text("fix the marked fields before submitting")
    stored = Annotation.objects.get(clip=clip, coder=coder)
    assert (stored.onset, stored.apex, stored.offset) == (57, 46, 46)
    assert (stored.notes, [str(c) for c in stored.au_codes]) == ("AU12 rises late", ["R12B"])

    page.fill("#apex", "200")  # a frame past the end
    page.locator("#apex").dispatch_event("change")
    expect(page.locator("#error-apex")).to_contain_text("Frame 200 is not in this clip")
    expect_saved(page)
    page.fill("#offset", "-3")  # no frame at all: the other fields still save
    page.locator("#offset").dispatch_event("change")
    page.fill("#notes", "AU12 rises late, then fades")
    status = page.locator("#save-status")
    expect(status).to_have_attribute("data-state", "partial", timeout=10_000)
    expect(status).to_contain_text("except offset")
    expect(page.locator("#error-offset")).to_contain_text("Not saved, kept the stored value")
    stored.refresh_from_db()
    assert (stored.apex, stored.offset, stored.notes) == (200, 46, "AU12 rises late, then fades")

    page.goto(page.url)
    expect(page.locator("#onset")).to_have_value("57")
    expect(page.locator("#apex")).to_have_value("200")
    expect(page.locator("#notes")).to_have_value("AU12 rises late, then fades")
    expect(page.locator("#au-list")).to_contain_text("R12B")
    expect(page.locator("#error-apex")).to_contain_text("Frame 200 is not in this clip")
    expect(page.locator("#error-offset")).to_contain_text("must not come before onset")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit").click()
    expect(status).to_have_attribute("data-state", "invalid", timeout=10_000)
    expect(status).to_contain_text("Your draft is saved")
    expect(status).to_contain_text("cannot be submitted yet")
    expect(page.locator("#error-emotion")).to_contain_text("Required before submitting")
    expect(page.locator("#error-apex")).to_contain_text("Frame 200 is not in this clip")
    page.screenshot(path="/tmp/workbench-errors.png", full_page=True)
    stored.refresh_from_db()
    assert stored.status == Annotation.Status.DRAFT
    assert (stored.onset, stored.apex, stored.notes) == (57, 200, "AU12 rises late, then fades")


def test_edits_made_just_before_leaving_are_saved(live_server, page, log_in, ready_clip, coder):
    clip = ready_clip(frames=12)
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", accept)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("q")
    page.fill("#notes", "typed a moment before leaving")
    page.goto(f"{live_server.url}/queue/")  # well inside the 500 ms autosave delay
    assert dialogs == ["beforeunload"]  # the coder was warned that a save was pending
    stored = Annotation.objects.get(clip=clip, coder=coder)
    for _ in range(50):
        if stored.notes:
            break
        page.wait_for_timeout(100)
        stored.refresh_from_db()
    assert (stored.onset, stored.notes) == (47, "typed a moment before leaving")


def test_hiding_the_page_sends_pending_edits_at_once(live_server, page, log_in, ready_clip, coder):
    clip = ready_clip(frames=12)
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)
    page.evaluate("window.setTimeout = () => 0")  # the debounced save would never fire
    page.fill("#notes", "switching tabs")
    page.evaluate(
        """() => {
        Object.defineProperty(document, "visibilityState", {value: "hidden"});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    )
    expect_saved(page)
    assert Annotation.objects.get(clip=clip, coder=coder).notes == "switching tabs"


def test_a_frame_still_loading_cannot_be_marked(live_server, page, log_in, ready_clip, coder):
    clip = ready_clip(frames=12)  # frames 46..57
    held = []
    page.route("**/frame/57.jpg", lambda route: held.append(route))
    log_in(page, username=coder.username)
    page.goto(f"{live_server.url}/clips/{clip.pk}/code/")
    expect(page.get_by_test_id("load-status")).to_contain_text("Loading frames 11/12")
    page.keyboard.press("End")
    expect(page.get_by_test_id("frame-wait")).to_contain_text("loading frame 57")
    assert frame_number(page) == "46"  # the readout names the frame on screen
    page.keyboard.press("q")
    expect(page.get_by_test_id("mark-notice")).to_contain_text("frame 57 is still loading")
    expect(page.locator("#onset")).to_have_value("")
    held[0].continue_()
    expect(page.get_by_test_id("frame-number")).to_have_text("57")
    expect(page.get_by_test_id("frame-wait")).to_have_text("")
    page.keyboard.press("q")
    expect(page.locator("#onset")).to_have_value("57")
    expect(page.get_by_test_id("mark-notice")).to_have_text("")


def test_au_codes_are_typed_as_coders_type_them(live_server, page, log_in, ready_clip, coder):
    clip = ready_clip(frames=12)
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)
    for code in ("R12B", "L14A", "r6c"):
        page.keyboard.type(code)  # no T first: L, R and digits begin AU entry
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
    expect(page.locator("#au-list li")).to_have_count(3)
    codes = [item.get_attribute("data-code") for item in page.locator("#au-list li").all()]
    assert codes == ["R12B", "L14A", "R6C"]
    expect(page.locator("#loop")).not_to_be_checked()
    expect(page.locator("input[name=emotion]:checked")).to_have_count(0)
    page.keyboard.press("o")
    expect(page.locator("#loop")).to_be_checked()
    expect_saved(page)
    stored = Annotation.objects.get(clip=clip, coder=coder)
    assert ([str(c) for c in stored.au_codes], stored.emotion) == (["R12B", "L14A", "R6C"], None)

    page.keyboard.press("?")
    help_text = page.locator("#help").inner_text()
    assert "loop over onset..offset" in help_text and "Shift+Q" in help_text
    page.keyboard.press("Escape")
    hints = page.locator("kbd[data-emotion-key]").all_inner_texts()
    assert len(set(hints)) == len(hints) and not set(hints) & set("lrqwetuvzoap")
    assert all(hint.islower() for hint in hints)  # never read as a Shift command


def test_reviewer_adjudicates_and_the_coder_then_sees_the_outcome(
    live_server, chromium, log_in, ready_clip, coder
):
    clip = ready_clip(frames=20)  # frames 46..65
    happiness = clip.subject.dataset.emotions.get(name="happiness")
    second = UserFactory(username="coder2", role="coder")
    for who, apex, aus in ((coder, 55, [{"au": 12}, {"au": 6}]), (second, 57, [{"au": 12}])):
        Annotation.objects.create(
            clip=clip,
            coder=who,
            onset=50,
            apex=apex,
            offset=60,
            emotion=happiness,
            action_units=aus,
            status=Annotation.Status.SUBMITTED,
        )
    reviewer = UserFactory(username="rita", role="reviewer")

    context = chromium.new_context()
    page = context.new_page()
    log_in(page, username=reviewer.username)
    page.get_by_role("link", name="Review", exact=True).click()
    page.locator("table").get_by_role("link", name=clip.name, exact=True).click()
    expect(page.locator(".review-table")).to_contain_text("coder1")
    expect(page.locator(".review-table")).to_contain_text("coder2")
    expect(page.get_by_test_id("au-agreement")).to_have_text("0.67")
    page.locator("tr", has_text="coder2").get_by_text("start from this").click()
    expect(page.locator("input[name=apex]")).to_have_value("57")
    page.fill("input[name=apex]", "56")
    page.fill("textarea[name=notes]", "apex where AU12 peaks")
    page.get_by_role("button", name="Save adjudication").click()
    expect(page.locator(".final-row")).to_contain_text("Adjudicated by rita")
    final = Annotation.objects.get(clip=clip, status=Annotation.Status.ADJUDICATED)
    assert (final.apex, final.based_on.coder, final.notes) == (56, second, "apex where AU12 peaks")
    # Opening the adjudicated clip in the workbench shows the final, read only: no blank draft.
    page.get_by_role("link", name="open in the workbench").click()
    expect(page.locator("#save-status")).to_contain_text("Adjudicated — read only")
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)
    expect(page.locator("#apex")).to_have_value("56")
    assert not Annotation.objects.filter(clip=clip, coder=reviewer).exclude(pk=final.pk).exists()
    context.close()

    context = chromium.new_context()
    page = context.new_page()
    log_in(page, username=coder.username)
    page.goto(f"{live_server.url}/clips/{clip.pk}/code/")
    outcome = page.get_by_test_id("review-outcome")
    expect(outcome).to_contain_text("Only you: 6")
    expect(outcome).to_contain_text("apex: final is 1 frames")
    expect(outcome).to_contain_text("apex where AU12 peaks")
    context.close()


def test_view_speed_and_zoom_are_kept_between_clips_and_times_read_in_ms(
    live_server, page, log_in, ready_clip, coder
):
    first = ready_clip(frames=30, name="EP02_01f")  # frames 46..75 at 200 fps
    second = ready_clip(frames=30, name="EP03_02f")
    log_in(page, username=coder.username)
    open_workbench(page, live_server, first)
    expect(page.get_by_test_id("frame-time")).to_have_text("0.0 ms from the first frame")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("q")  # onset at 48
    page.keyboard.press("Shift+ArrowRight")  # frame 58: 10 frames at 200 fps
    expect(page.get_by_test_id("frame-time")).to_have_text("+50.0 ms from onset")
    page.select_option("#view-mode", "single-motion")
    page.select_option("#speed", "0.5")
    page.locator("#workbench").focus()
    page.keyboard.press("z")
    expect(page.locator(".views")).to_have_class(re.compile(r"\bzoomed\b"))

    open_workbench(page, live_server, second)
    expect(page.locator("#view-mode")).to_have_value("single-motion")
    expect(page.locator("#speed")).to_have_value("0.5")
    expect(page.locator(".views")).to_have_class(re.compile(r"\bzoomed\b"))


def test_submit_and_the_save_state_stay_in_view_at_1280x720_and_nothing_reflows(
    live_server, chromium, log_in, ready_clip, coder
):
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    clip = ready_clip(frames=30)
    log_in(page, username=coder.username)
    page.goto(f"{live_server.url}/clips/{clip.pk}/code/")
    submit, status = page.get_by_role("button", name="Submit"), page.locator("#save-status")
    before = submit.bounding_box()
    expect(page.get_by_test_id("load-status")).to_contain_text("frames loaded", timeout=20_000)
    for element in (submit, status):
        box = element.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 720, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, box
    assert submit.bounding_box() == before  # the first frame's arrival moved nothing
    for view in ("grid", "single-motion", "single-frame"):
        page.select_option("#view-mode", view)
        assert submit.bounding_box() == before, view
    context.close()


def test_the_mouse_wheel_over_the_image_zooms_in_levels_and_a_drag_pans(
    live_server, page, log_in, ready_clip, coder
):
    clip = ready_clip(frames=30)
    log_in(page, username=coder.username)
    page.set_viewport_size({"width": 1280, "height": 600})  # a page that could scroll
    open_workbench(page, live_server, clip)
    canvas = page.locator("figure.active canvas").first
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    scrolled = page.evaluate("window.scrollY")
    page.mouse.wheel(0, -100)
    page.mouse.wheel(0, -100)
    expect(page.get_by_test_id("magnify-level")).to_have_text("\u00d71.56")
    assert page.evaluate("window.scrollY") == scrolled  # the page did not scroll
    assert "scale(1.5625)" in canvas.evaluate("c => c.style.transform")
    origin = canvas.evaluate("c => c.style.transformOrigin")
    assert origin.startswith("25")  # zoomed about the pointer
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.up()
    assert canvas.evaluate("c => c.style.transformOrigin") != origin  # the drag panned
    page.mouse.wheel(0, 100)
    page.mouse.wheel(0, 100)
    expect(page.get_by_test_id("magnify-level")).to_have_text("")
    assert canvas.evaluate("c => c.style.transform") == ""


def test_a_coder_codes_with_keys_of_their_own(live_server, page, log_in, ready_clip, coder):
    clip = ready_clip(frames=30)  # frames 46..75
    log_in(page, username=coder.username)
    page.goto(f"{live_server.url}/profile/")
    page.fill("#keys-mark_onset", "b")
    page.fill("#keys-next", "ArrowRight ArrowDown")
    page.get_by_role("button", name="Save keys").click()
    expect(page.locator("#keys-mark_onset")).to_have_value("b")

    open_workbench(page, live_server, clip)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("b")
    expect(page.locator("#onset")).to_have_value("48")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("q")  # the standard key marks nothing now
    expect(page.locator("#onset")).to_have_value("48")
    page.keyboard.press("?")
    onset_row = page.locator("#help tr", has_text="set onset at the frame shown")
    expect(onset_row).to_contain_text("b")
    expect(onset_row).not_to_contain_text("q")
