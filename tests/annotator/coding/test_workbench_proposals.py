"""The active model version's proposal in the coder's workbench: what is shown, coding blind as a
per-coder choice, and model-assisted provenance decided by what the server rendered."""

import json
import re

import pytest
from django.urls import reverse

from annotator import keymap
from annotator.accounts import selectors as accounts_selectors
from annotator.accounts import services as accounts
from annotator.coding import services as coding_services
from annotator.models import Annotation, Dataset
from mlcore.labels import DATASET_EMOTIONS
from tests.annotator.support.proposals import model_version, propose
from tests.factories import ClipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coder_client(client, coder):
    client.force_login(coder)
    return client


def workbench(client, clip) -> str:
    response = client.get(reverse("clip-code", args=[clip.pk]))
    assert response.status_code == 200
    return response.content.decode()


def save_form(annotation, **marks) -> dict:
    return {"revision": annotation.revision, "action_units": "", "notes": "", **marks}


def test_shown_proposal_lists_apex_probabilities_and_version(coder_client, coder):
    clip = ClipFactory()
    version = model_version()
    propose(clip, version)
    page = workbench(coder_client, clip)
    assert 'data-testid="proposal-panel"' in page
    assert re.search(r'data-testid="proposed-apex">58<', page)
    assert 'data-testid="apex-confidence">87%<' in page
    for label, percent in (("Negative", 12), ("Positive", 71), ("Surprise", 17)):
        assert re.search(rf">{label}</label>\s*<meter[^>]*>{percent}%</meter>", page)
    assert f'data-testid="model-version">v{version.pk}<' in page
    assert "Accept apex" in page
    assert "accept the model's proposed apex" in page  # in the keyboard help


def proposal_config(page: str) -> dict | None:
    """What the workbench script reads of the proposal (None when the page carries none)."""
    found = re.search(r'<script id="proposal-data" type="application/json">(.*?)</script>', page)
    return json.loads(found.group(1)) if found else None


def test_the_proposed_interval_is_shown_and_carried_to_the_timeline(coder_client, coder):
    clip = ClipFactory()
    version = model_version()
    propose(clip, version, apex=58, interval=(52, 64))
    page = workbench(coder_client, clip)
    assert 'data-testid="proposed-onset">52<' in page
    assert 'data-testid="proposed-offset">64<' in page
    assert 'id="accept-interval"' in page
    assert "accept the model's proposed onset, apex and offset" in page  # in the keyboard help
    assert proposal_config(page) == {
        "onset": 52,
        "apex": 58,
        "offset": 64,
        "confidence": 0.87,
        "version": f"v{version.pk}",
        "aus": [],
    }


@pytest.mark.parametrize("action", ["accept_interval", "accept_au"])
@pytest.mark.parametrize("dataset", sorted(DATASET_EMOTIONS))
def test_the_accept_keys_move_no_emotion_key(dataset, action):
    names = list(DATASET_EMOTIONS[dataset])
    without = [e for e in keymap.WORKBENCH_KEYS if e["action"] != action]
    assert keymap.emotion_keys(names) == keymap.emotion_keys(names, keys=without)


# What an AU head scores: AU4 and AU12 above the chips' threshold (0.5), AU14 at it, the rest not.
HEAD_AUS = {"AU1": 0.08, "AU4": 0.62, "AU12": 0.91, "AU14": 0.5, "AU17": 0.49}


def au_chips(page: str) -> list[tuple[str, str]]:
    """The proposed-AU chips as the coder reads them: (AU, percent), in the page's order."""
    return re.findall(
        r'class="au-chip" data-au="\d+"[^>]*>(AU\d+) <span class="percent">(\d+%)</span>', page
    )


def test_the_proposed_aus_above_the_threshold_are_chips_likeliest_first(coder_client, coder):
    clip = ClipFactory()
    propose(clip, model_version(), interval=(52, 64), action_units=HEAD_AUS)
    page = workbench(coder_client, clip)
    assert au_chips(page) == [("AU12", "91%"), ("AU4", "62%"), ("AU14", "50%")]
    assert 'title="Add AU12 Lip corner puller (91%) to your action units"' in page
    assert "50% or more" in page and "<kbd>Shift+G</kbd>" in page
    assert proposal_config(page)["aus"] == ["12", "4", "14"]
    # in the keyboard help
    assert "add the likeliest AU the model proposes that you have not coded" in page


def test_a_version_without_an_au_head_shows_no_chips(coder_client, coder):
    clip = ClipFactory()
    propose(clip, model_version(), interval=(52, 64))
    page = workbench(coder_client, clip)
    assert 'data-testid="proposed-aus"' not in page and au_chips(page) == []
    assert proposal_config(page)["aus"] == []


def test_a_submitted_annotation_shows_the_proposed_aus_without_adding_them(coder_client, coder):
    clip = ClipFactory()
    propose(clip, model_version(), action_units=HEAD_AUS)
    Annotation.objects.create(clip=clip, coder=coder, status=Annotation.Status.SUBMITTED)
    page = workbench(coder_client, clip)
    assert au_chips(page) == [("AU12", "91%"), ("AU4", "62%"), ("AU14", "50%")]
    assert '<button type="button" class="au-chip"' not in page
    assert "click one to add it" not in page


def test_coding_blind_hides_the_proposed_aus(client, coder):
    by_choice, blind_dataset = ClipFactory(), ClipFactory()
    version = model_version()
    propose(by_choice, version, action_units=HEAD_AUS)
    propose(blind_dataset, version, action_units=HEAD_AUS, coding_mode=Dataset.CodingMode.BLIND)
    client.force_login(coder)
    assert 'data-testid="proposed-aus"' in workbench(client, by_choice)  # seen before hiding
    accounts.coder_preferences_update(coder=coder, hide_proposals=True)
    pages = [workbench(client, by_choice), workbench(client, blind_dataset)]
    accounts.coder_preferences_update(coder=coder, hide_proposals=False)
    pages.append(workbench(client, blind_dataset))  # blind until submitted, whatever they ask
    for page in pages:
        assert "proposal-data" not in page
        for leak in ('data-testid="proposed-aus"', "au-chip", "AU12", "91%", "Proposed AUs"):
            assert leak not in page


def test_a_proposal_scored_before_intervals_offers_only_its_apex(coder_client, coder):
    clip = ClipFactory()
    propose(clip, model_version(), apex=58)
    page = workbench(coder_client, clip)
    config = proposal_config(page)
    assert (config["onset"], config["apex"], config["offset"]) == (None, 58, None)
    assert "proposed-onset" not in page and "proposed-offset" not in page
    assert 'id="accept-interval"' not in page


def test_showing_a_proposal_makes_the_draft_model_assisted_for_good(coder_client, coder):
    clip = ClipFactory()
    version = model_version()
    propose(clip, version)
    workbench(coder_client, clip)
    draft = Annotation.objects.get(clip=clip, coder=coder)
    assert draft.provenance == Annotation.Provenance.MODEL_ASSISTED
    assert draft.proposal_version == version
    assert draft.revision == 1  # the open page's next save is not refused because of it

    # Hiding the proposals afterwards does not make the coding blind again.
    coder_client.post(reverse("clip-code-proposals", args=[clip.pk]), {"hide_proposals": "1"})
    response = coder_client.post(
        reverse("annotation-save", args=[draft.pk]), save_form(draft, apex=58)
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.apex, draft.revision) == (58, 2)
    assert draft.provenance == Annotation.Provenance.MODEL_ASSISTED


def test_coding_blind_shows_nothing_and_saves_stay_manual(coder_client, coder):
    clip = ClipFactory()
    propose(clip, model_version(), apex=93, interval=(88, 97), confidence=0.42)
    accounts.coder_preferences_update(coder=coder, hide_proposals=True)
    page = workbench(coder_client, clip)
    assert "you are coding blind" in page
    assert "Show proposals" in page
    for leak in (
        "proposal-data",
        "proposed-apex",
        "proposed-onset",
        "proposed-offset",
        "accept-interval",
        "<h2>Model proposal</h2>",
        "42%",
        "<meter",
        "Accept apex",
    ):
        assert leak not in page

    draft = Annotation.objects.get(clip=clip, coder=coder)
    response = coder_client.post(
        reverse("annotation-save", args=[draft.pk]), save_form(draft, onset=50, apex=60)
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.apex == 60
    assert draft.provenance == Annotation.Provenance.MANUAL
    assert draft.proposal_version is None


def test_hiding_is_the_coders_own_choice_on_every_clip(client, coder):
    version = model_version()
    first, second = ClipFactory(), ClipFactory()
    propose(first, version)
    propose(second, version)
    Dataset.objects.update(coders_per_clip=2)  # model-assisted, coded twice
    other = UserFactory(username="coder2", role="coder")

    client.force_login(coder)
    response = client.post(reverse("clip-code-proposals", args=[first.pk]), {"hide_proposals": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("clip-code", args=[first.pk])
    assert accounts_selectors.coder_preferences(coder=coder).hide_proposals
    assert "proposal-data" not in workbench(client, second)

    client.force_login(other)
    assert "proposal-data" in workbench(client, second)


def test_showing_again_over_htmx_returns_the_panel_and_marks_the_draft(coder_client, coder):
    clip = ClipFactory()
    version = model_version()
    propose(clip, version)
    accounts.coder_preferences_update(coder=coder, hide_proposals=True)
    workbench(coder_client, clip)
    assert Annotation.objects.get(clip=clip, coder=coder).provenance == "manual"

    response = coder_client.post(
        reverse("clip-code-proposals", args=[clip.pk]),
        {"hide_proposals": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    panel = response.content.decode()
    assert panel.lstrip().startswith('<aside id="proposal-panel"')
    assert 'data-testid="proposed-apex">58<' in panel
    assert "Hide proposals" in panel
    assert not accounts_selectors.coder_preferences(coder=coder).hide_proposals
    draft = Annotation.objects.get(clip=clip, coder=coder)
    assert (draft.provenance, draft.proposal_version) == ("model_assisted", version)


def test_a_malformed_toggle_is_refused_and_changes_nothing(coder_client, coder):
    clip = ClipFactory()
    accounts.coder_preferences_update(coder=coder, hide_proposals=True)
    response = coder_client.post(
        reverse("clip-code-proposals", args=[clip.pk]), {"hide_proposals": "yes"}
    )
    assert response.status_code == 400
    assert "hide_proposals must be 0 or 1" in response.content.decode()
    assert accounts_selectors.coder_preferences(coder=coder).hide_proposals


def _without_csrf(page: str) -> str:
    page = re.sub(r'"X-CSRFToken": "[^"]+"', "", page)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_without_a_proposal_of_the_active_version_the_workbench_is_unchanged(coder_client, coder):
    clip = ClipFactory()
    before = workbench(coder_client, clip)
    # A proposal of a version that is not active, and an active version with nothing for it.
    propose(clip, model_version(active=False))
    assert _without_csrf(workbench(coder_client, clip)) == _without_csrf(before)
    model_version(active=True)
    page = workbench(coder_client, clip)
    assert _without_csrf(page) == _without_csrf(before)
    assert "proposal" not in page.lower()
    assert Annotation.objects.get(clip=clip, coder=coder).provenance == "manual"


def test_a_submitted_annotation_keeps_its_provenance_and_offers_no_accept(coder_client, coder):
    clip = ClipFactory()
    propose(clip, model_version())
    submitted = Annotation.objects.create(
        clip=clip, coder=coder, onset=50, offset=70, status=Annotation.Status.SUBMITTED
    )
    page = workbench(coder_client, clip)
    assert 'data-testid="proposed-apex">58<' in page
    assert 'id="accept-apex"' not in page
    submitted.refresh_from_db()
    assert submitted.provenance == Annotation.Provenance.MANUAL
    assert not Annotation.objects.filter(clip=clip, status=Annotation.Status.DRAFT).exists()


def test_a_proposal_marks_only_a_manual_draft_of_its_own_clip(coder):
    version = model_version()
    draft = coding_services.clip_claim(clip=ClipFactory(), coder=coder)
    other_clips_proposal = propose(ClipFactory(), version)
    coding_services.annotation_mark_model_assisted(annotation=draft, proposal=other_clips_proposal)
    draft.refresh_from_db()
    assert draft.provenance == Annotation.Provenance.MANUAL

    first = propose(draft.clip, version)
    coding_services.annotation_mark_model_assisted(annotation=draft, proposal=first)
    later = propose(draft.clip, model_version(active=False))
    coding_services.annotation_mark_model_assisted(annotation=draft, proposal=later)
    draft.refresh_from_db()
    # The first proposal the coder saw stays on record.
    assert (draft.provenance, draft.proposal_version) == ("model_assisted", version)


def test_a_blind_draft_gets_no_proposal_even_when_the_coder_asks_to_show_them(client, coder):
    clip = ClipFactory()
    propose(clip, model_version(), interval=(52, 64), coding_mode=Dataset.CodingMode.BLIND)
    client.force_login(coder)
    page = workbench(client, clip)
    assert "proposal-blind" in page and "proposal-data" not in page
    assert "proposed-onset" not in page and "proposed-offset" not in page
    panel = client.post(
        reverse("clip-code-proposals", args=[clip.pk]),
        {"hide_proposals": "0"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "hidden until you submit" in panel and "proposal-data" not in panel
    draft = Annotation.objects.get(clip=clip, coder=coder)
    assert draft.provenance == Annotation.Provenance.MANUAL and draft.proposal_version is None


def test_a_reviewer_looking_claims_nothing_until_code_this_clip(client):
    clip = ClipFactory()
    propose(clip, model_version())
    reviewer = UserFactory(username="rita", role="reviewer")
    client.force_login(reviewer)
    page = workbench(client, clip)
    assert "Code this clip" in page and "proposal-data" not in page
    client.post(reverse("clip-code-proposals", args=[clip.pk]), {"hide_proposals": "0"})
    assert not Annotation.objects.filter(clip=clip).exists()
    started = client.post(reverse("clip-code-start", args=[clip.pk]))
    assert started.status_code == 302 and started["Location"] == reverse(
        "clip-code", args=[clip.pk]
    )
    assert "proposal-data" in workbench(client, clip)  # the dataset is model-assisted
    draft = Annotation.objects.get(clip=clip, coder=reviewer)
    assert draft.provenance == Annotation.Provenance.MODEL_ASSISTED


def test_the_proposal_buttons_name_the_coders_own_keys(coder_client, coder):
    accounts.coder_key_map_update(
        coder=coder, overrides={"accept_apex": ["K"], "toggle_proposals": ["Y"]}
    )
    clip = ClipFactory()
    propose(clip, model_version(), apex=58, interval=(52, 64))
    for panel in (
        workbench(coder_client, clip),
        coder_client.post(
            reverse("clip-code-proposals", args=[clip.pk]),
            {"hide_proposals": "0"},
            headers={"HX-Request": "true"},
        ).content.decode(),
    ):
        assert "Accept apex <kbd>Shift+K</kbd>" in panel
        assert 'title="Code blind on every clip (Shift+Y)"' in panel
        assert "Accept interval <kbd>Shift+X</kbd>" in panel
