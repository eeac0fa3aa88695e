"""The model's proposal in the workbench, in Debian Chromium: the proposed apex and interval on
the timeline and the class probabilities, accepting the apex with a key, accepting proposed AUs
one by one, and coding blind."""

import re

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation
from tests.annotator.support.proposals import model_version, propose

pytestmark = pytest.mark.browser

PROPOSAL_RGB = (14, 147, 132)  # the proposed apex's colour on the timeline canvas


def open_workbench(page, live_server, clip):
    page.goto(f"{live_server.url}/clips/{clip.pk}/code/")
    expect(page.get_by_test_id("load-status")).to_contain_text("frames loaded", timeout=20_000)


def expect_saved(page):
    expect(page.locator("#save-status")).to_have_attribute("data-state", "saved", timeout=10_000)


def proposal_colour_columns(page) -> list[int]:
    """Canvas columns where the timeline shows the proposal's colour."""
    return page.evaluate(
        """([r, g, b]) => {
            const canvas = document.getElementById("timeline");
            const { data, width, height } = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height);
            const columns = new Set();
            for (let y = 0; y < height; y++) {
                for (let x = 0; x < width; x++) {
                    const i = 4 * (y * width + x);
                    if (data[i] === r && data[i + 1] === g && data[i + 2] === b) columns.add(x);
                }
            }
            return [...columns].sort((a, b) => a - b);
        }""",
        list(PROPOSAL_RGB),
    )


def column_of(page, *, index: int, count: int) -> int:
    width = page.evaluate("document.getElementById('timeline').width")
    return int((index + 0.5) / count * width)


def test_proposed_apex_is_drawn_and_accepted_with_a_key(
    live_server, page, log_in, ready_clip, coder
):
    clip = ready_clip(frames=20)  # frames 46..65
    version = model_version()
    propose(clip, version, apex=58, confidence=0.87)
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)

    panel = page.get_by_test_id("proposal-panel")
    expect(panel.get_by_test_id("proposed-apex")).to_have_text("58")
    expect(panel.get_by_test_id("apex-confidence")).to_have_text("87%")
    expect(panel.get_by_test_id("model-version")).to_have_text(f"v{version.pk}")
    probabilities = panel.get_by_test_id("class-probabilities")
    expect(probabilities.locator("li")).to_have_text(
        [
            re.compile(r"^Negative\s+12%$"),
            re.compile(r"^Positive\s+71%$"),
            re.compile(r"^Surprise\s+17%$"),
        ],
        use_inner_text=True,
    )
    expect(probabilities.get_by_label("Positive")).to_have_attribute("value", "0.7100")
    expect(page.get_by_test_id("timeline-legend")).to_contain_text(
        "model's proposed apex: frame 58, confidence 87%"
    )
    columns = proposal_colour_columns(page)
    marker = column_of(page, index=58 - 46, count=20)
    assert columns and min(columns) >= marker - 7 and max(columns) <= marker + 40, columns
    page.screenshot(path="/tmp/workbench-proposal.png", full_page=True)

    page.keyboard.press("?")
    expect(page.locator("#help")).to_contain_text("accept the model's proposed apex")
    page.keyboard.press("Escape")

    # Scored before intervals were proposed: no interval to draw or accept.
    expect(panel.get_by_test_id("proposed-onset")).to_have_count(0)
    expect(page.locator("#accept-interval")).to_have_count(0)
    expect(page.get_by_test_id("timeline-legend")).not_to_contain_text("proposed onset")
    page.keyboard.press("Shift+X")
    expect(page.locator("#onset")).to_have_value("")

    page.keyboard.press("Shift+A")
    expect(page.locator("#apex")).to_have_value("58")
    expect(page.get_by_test_id("frame-number")).to_have_text("58")
    page.keyboard.press("u")
    expect(page.locator("#apex")).to_have_value("")
    page.keyboard.press("Home")
    page.keyboard.press("Shift+A")
    expect(page.locator("#apex")).to_have_value("58")
    expect_saved(page)

    stored = Annotation.objects.get(clip=clip, coder=coder)
    assert stored.apex == 58
    assert stored.provenance == Annotation.Provenance.MODEL_ASSISTED
    assert stored.proposal_version == version


def test_proposed_interval_is_drawn_and_told_in_the_legend(
    live_server, page, log_in, ready_clip, coder
):
    clip = ready_clip(frames=20)  # frames 46..65 at 200 fps
    propose(clip, model_version(), apex=58, interval=(52, 63), confidence=0.87)
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)

    panel = page.get_by_test_id("proposal-panel")
    expect(panel.get_by_test_id("proposed-onset")).to_have_text("52")
    expect(panel.get_by_test_id("proposed-offset")).to_have_text("63")
    legend = page.get_by_test_id("timeline-legend")
    expect(legend).to_contain_text("model's proposed apex: frame 58, confidence 87%")
    expect(legend).to_contain_text("proposed onset 52, offset 63 (55 ms)")
    columns = proposal_colour_columns(page)
    onset = column_of(page, index=52 - 46, count=20)
    offset = column_of(page, index=63 - 46, count=20)
    # Each bracket's line is two pixels wide around its frame's column, its caps point inward.
    assert {onset, offset} <= set(columns), columns
    assert min(columns) >= onset - 2, columns
    assert not [c for c in columns if onset + 8 < c < column_of(page, index=58 - 46, count=20) - 7]
    page.screenshot(path="/tmp/workbench-proposal-interval.png", full_page=True)

    # The coder's own marks are solid and leave the proposal's brackets where they are.
    page.keyboard.press("Home")
    page.keyboard.press("q")
    expect(page.locator("#onset")).to_have_value("46")
    expect_saved(page)
    assert {onset, offset} <= set(proposal_colour_columns(page))

    # Shift+X takes all three marks in one edit, which one undo takes back.
    marks = [page.locator(f"#{mark}") for mark in ("onset", "apex", "offset")]
    page.keyboard.press("Shift+X")
    for field, value in zip(marks, ("52", "58", "63"), strict=True):
        expect(field).to_have_value(value)
    expect(page.get_by_test_id("frame-number")).to_have_text("58")
    page.keyboard.press("u")
    for field, value in zip(marks, ("46", "", ""), strict=True):
        expect(field).to_have_value(value)
    panel.get_by_role("button", name="Accept interval").click()
    expect(marks[2]).to_have_value("63")
    expect_saved(page)
    stored = Annotation.objects.get(clip=clip, coder=coder)
    assert (stored.onset, stored.apex, stored.offset) == (52, 58, 63)
    assert stored.provenance == Annotation.Provenance.MODEL_ASSISTED


def test_proposed_aus_are_chips_accepted_one_by_one_and_saved(
    live_server, page, log_in, ready_clip, coder
):
    clip = ready_clip(frames=12)
    version = model_version()
    propose(clip, version, action_units={"AU1": 0.1, "AU4": 0.62, "AU12": 0.91, "AU14": 0.55})
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)

    chips = page.get_by_test_id("proposed-aus").locator(".au-chip")
    expect(chips).to_have_text(["AU12 91%", "AU4 62%", "AU14 55%"])
    coded = page.locator("#au-list li")

    def codes(*numbers: str) -> list:
        # Each coded AU's item is its code and its remove button.
        return [re.compile(rf"^{number}(?!\d)") for number in numbers]

    # An AU the coder typed with a side and intensity is coded: its chip has nothing to add.
    page.keyboard.type("R14B")
    page.keyboard.press("Enter")
    expect(coded).to_have_text(codes("R14B"))
    expect(chips.filter(has_text="AU14")).to_be_disabled()
    page.keyboard.press("Escape")

    chips.filter(has_text="AU12").click()
    expect(coded).to_have_text(codes("R14B", "12"))
    expect(chips.filter(has_text="AU12")).to_be_disabled()
    expect_saved(page)

    # The key takes the likeliest proposed AU not coded yet; undo takes it back like a typed one.
    page.locator("#workbench").focus()
    page.keyboard.press("Shift+G")
    expect(coded).to_have_text(codes("R14B", "12", "4"))
    page.keyboard.press("u")
    expect(coded).to_have_text(codes("R14B", "12"))
    expect(chips.filter(has_text="AU4")).to_be_enabled()
    page.keyboard.press("Shift+G")
    page.keyboard.press("Shift+G")  # every proposed AU is coded now: nothing more to add
    expect(coded).to_have_text(codes("R14B", "12", "4"))
    expect_saved(page)

    stored = Annotation.objects.get(clip=clip, coder=coder)
    assert [str(entry) for entry in stored.au_entries] == ["R14B", "12", "4"]
    assert stored.revision >= 2 and stored.proposal_version == version
    page.screenshot(path="/tmp/workbench-proposed-aus.png", full_page=True)


def test_coding_blind_hides_everything_and_persists(live_server, page, log_in, ready_clip, coder):
    seen = ready_clip(frames=12, name="EP01_01")
    blind = ready_clip(frames=12, name="EP01_02")
    version = model_version()
    propose(seen, version, apex=50, interval=(48, 54), confidence=0.6)
    propose(blind, version, apex=52, interval=(49, 56), confidence=0.9)
    log_in(page, username=coder.username)
    open_workbench(page, live_server, seen)
    expect(page.get_by_test_id("proposed-apex")).to_have_text("50")

    page.keyboard.press("Shift+P")
    panel = page.get_by_test_id("proposal-panel")
    expect(panel).to_contain_text("you are coding blind")
    expect(page.get_by_test_id("proposed-apex")).to_have_count(0)
    expect(page.get_by_test_id("timeline-legend")).to_have_count(0)
    assert proposal_colour_columns(page) == []
    page.keyboard.press("Shift+A")  # nothing to accept
    expect(page.locator("#apex")).to_have_value("")

    page.reload()
    expect(page.get_by_test_id("load-status")).to_contain_text("frames loaded", timeout=20_000)
    expect(panel).to_contain_text("you are coding blind")
    assert proposal_colour_columns(page) == []

    open_workbench(page, live_server, blind)
    expect(panel).to_contain_text("you are coding blind")
    for hidden in ("52", "90%", "Accept apex", "Proposed onset"):
        assert hidden not in panel.inner_text()
    assert page.locator("#proposal-data, #accept-apex, meter").count() == 0
    assert proposal_colour_columns(page) == []
    page.keyboard.press("ArrowRight")
    page.keyboard.press("w")
    expect_saved(page)
    coded_blind = Annotation.objects.get(clip=blind, coder=coder)
    assert coded_blind.apex == 47
    assert coded_blind.provenance == Annotation.Provenance.MANUAL
    # The clip whose proposal the coder saw before hiding stays model-assisted.
    seen_annotation = Annotation.objects.get(clip=seen, coder=coder)
    assert seen_annotation.provenance == Annotation.Provenance.MODEL_ASSISTED

    panel.get_by_role("button", name="Show proposals").click()
    expect(page.get_by_test_id("proposed-apex")).to_have_text("52")
    expect(page.get_by_test_id("timeline-legend")).to_contain_text("frame 52, confidence 90%")
    expect(page.get_by_test_id("timeline-legend")).to_contain_text(
        "proposed onset 49, offset 56 (35 ms)"
    )
    assert proposal_colour_columns(page) != []
    page.get_by_role("button", name="Accept apex").click()
    expect(page.locator("#apex")).to_have_value("52")
    expect(page.locator("#save-status")).to_have_text("Saved (revision 3)", timeout=10_000)
    shown = Annotation.objects.get(clip=blind, coder=coder)
    assert (shown.apex, shown.provenance) == (52, Annotation.Provenance.MODEL_ASSISTED)


def test_without_a_proposal_there_is_no_panel(live_server, page, log_in, ready_clip, coder):
    clip = ready_clip(frames=12)
    propose(clip, model_version(active=False))
    log_in(page, username=coder.username)
    open_workbench(page, live_server, clip)
    expect(page.get_by_test_id("proposal-panel")).to_have_count(0)
    expect(page.get_by_test_id("timeline-legend")).to_have_count(0)
    assert proposal_colour_columns(page) == []
    page.keyboard.press("Shift+A")
    page.keyboard.press("Shift+P")
    expect(page.locator("#apex")).to_have_value("")
    page.keyboard.press("?")
    expect(page.locator("#help")).not_to_contain_text("proposed apex")
    page.keyboard.press("Escape")
    page.keyboard.press("w")
    expect_saved(page)
    assert Annotation.objects.get(clip=clip, coder=coder).provenance == "manual"
