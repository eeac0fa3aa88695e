import csv
import io
import math
import re

import pytest
from django.urls import reverse

from annotator.coding import review as coding_review
from annotator.models import Annotation, DatasetEmotion
from mlcore.facs import format_au_string
from tests.factories import AnnotationFactory, ClipFactory, UserFactory

pytestmark = pytest.mark.django_db


def submitted(clip, coder, *, onset, apex, offset, emotion, aus):
    return AnnotationFactory(
        clip=clip,
        coder=coder,
        onset=onset,
        apex=apex,
        offset=offset,
        emotion=DatasetEmotion.objects.get(dataset=clip.subject.dataset, name=emotion),
        action_units=aus,
        status=Annotation.Status.SUBMITTED,
    )


@pytest.fixture
def two_codings():
    clip = ClipFactory()  # frames 46..105 at 200 fps
    alice = UserFactory(username="alice", role="coder")
    bob = UserFactory(username="bob", role="coder")
    a = submitted(
        clip,
        alice,
        onset=50,
        apex=60,
        offset=80,
        emotion="happiness",
        aus=[{"au": 6, "intensity": "B"}, {"au": 12, "laterality": "R", "intensity": "C"}],
    )
    b = submitted(
        clip,
        bob,
        onset=51,
        apex=63,
        offset=80,
        emotion="happiness",
        aus=[{"au": 12, "laterality": "R", "intensity": "D"}],
    )
    return clip, a, b


@pytest.fixture
def reviewer_client(client):
    client.force_login(UserFactory(username="rita", role="reviewer"))
    return client


def test_pair_agreement_in_frames_and_ms(two_codings):
    clip, a, b = two_codings
    pair = coding_review.annotation_pair_agreement(a, b, fps=clip.fps, tolerance_ms=10)
    assert pair["emotion_match"] is True
    assert pair["au_agreement"] == pytest.approx(2 * 1 / 3)
    assert pair["aus_only_first"] == ["6B"]
    assert pair["marks"]["onset"] == {"frames": 1, "ms": 5.0, "within_tolerance": True}
    assert pair["marks"]["apex"] == {"frames": 3, "ms": 15.0, "within_tolerance": False}


def test_review_page_shows_every_submitted_annotation(two_codings, reviewer_client):
    clip, _, _ = two_codings
    page = reviewer_client.get(reverse("clip-review", args=[clip.pk])).content.decode()
    assert "alice" in page and "bob" in page
    assert "15.0 ms" in page


def test_adjudication_and_stale_second_reviewer(two_codings, reviewer_client, client):
    clip, _, b = two_codings
    url = reverse("clip-review", args=[clip.pk])
    happiness = DatasetEmotion.objects.get(dataset=clip.subject.dataset, name="happiness")
    form = {
        "based_on": b.pk,
        "onset": 51,
        "apex": 62,
        "offset": 80,
        "emotion": happiness.pk,
        "action_units": "R12C+6B",
        "notes": "apex at the peak of AU12",
    }
    assert reviewer_client.post(url, form).status_code == 302
    final = Annotation.objects.get(clip=clip, status=Annotation.Status.ADJUDICATED)
    assert (final.apex, final.based_on, final.notes) == (62, b, "apex at the peak of AU12")

    # A second reviewer who opened the page before the first saved is refused, not applied.
    form.update(revision=final.revision, apex=61)
    Annotation.objects.filter(pk=final.pk).update(revision=final.revision + 1)
    response = reviewer_client.post(url, form)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    assert Annotation.objects.get(pk=final.pk).apex == 62


def test_adjudication_validates_marks(two_codings, reviewer_client):
    clip, a, _ = two_codings
    response = reviewer_client.post(
        reverse("clip-review", args=[clip.pk]),
        {"onset": 90, "offset": 80, "emotion": a.emotion_id, "action_units": "R12", "notes": ""},
    )
    assert response.status_code == 422
    assert "must not come before onset" in response.content.decode()
    assert not Annotation.objects.filter(status=Annotation.Status.ADJUDICATED).exists()


def test_coders_cannot_review(two_codings, client):
    clip, a, _ = two_codings
    client.force_login(a.coder)
    assert client.get(reverse("clip-review", args=[clip.pk])).status_code == 403


def test_coder_sees_disagreements_only_after_adjudication(two_codings, client):
    clip, a, b = two_codings
    client.force_login(a.coder)
    page = client.get(reverse("clip-code", args=[clip.pk])).content.decode()
    assert "Review outcome" not in page and "bob" not in page
    Annotation.objects.create(
        clip=clip,
        coder=UserFactory(username="rita", role="reviewer"),
        onset=51,
        apex=62,
        offset=80,
        emotion=b.emotion,
        action_units=[{"au": 12, "laterality": "R"}],
        status=Annotation.Status.ADJUDICATED,
        notes="AU6 was not visible",
    )
    page = client.get(reverse("clip-code", args=[clip.pk])).content.decode()
    assert "Review outcome" in page
    assert "Only you: 6B" in page
    assert "AU6 was not visible" in page


def test_dataset_agreement_report_table_csv_and_plot(two_codings, reviewer_client):
    clip, a, b = two_codings
    other = ClipFactory(subject=clip.subject)
    submitted(other, a.coder, onset=50, apex=55, offset=70, emotion="disgust", aus=[{"au": 4}])
    submitted(other, b.coder, onset=50, apex=56, offset=72, emotion="repression", aus=[{"au": 4}])
    report = coding_review.dataset_agreement_report(dataset=clip.subject.dataset)
    assert report["clips_with_two_or_more"] == 2
    assert report["frame_distances"]["apex"]["median"] == pytest.approx(2.0)
    assert report["emotion_alpha"] == pytest.approx(
        # units (happiness, happiness), (disgust, repression): Krippendorff's alpha by hand
        1 - (2 / 4) / ((16 - (4 + 1 + 1)) / 12)
    )
    assert not math.isnan(report["emotion_kappa"])

    url = reverse("dataset-agreement", args=[clip.subject.dataset.pk])
    page = reviewer_client.get(url).content.decode()
    assert "Krippendorff" in page
    rows = list(
        csv.DictReader(io.StringIO(reviewer_client.get(url, {"format": "csv"}).content.decode()))
    )
    assert len(rows) == 2
    assert {row["apex_diff_frames"] for row in rows} == {"3", "1"}
    plot = reviewer_client.get(url, {"format": "png"})
    assert plot["Content-Type"] == "image/png" and plot.content[:4] == b"\x89PNG"


def test_an_imported_non_code_is_offered_in_the_final_and_kept(reviewer_client):
    """A sheet wrote `(R6 or R12)` for one coder: the reviewer starting from that annotation sees
    it in the AU field and the final keeps it; a non-code nobody stored is still refused."""
    clip = ClipFactory()
    imported = submitted(
        clip,
        UserFactory(username="sheet", role="coder"),
        onset=50,
        apex=60,
        offset=80,
        emotion="happiness",
        aus=[{"au": 12, "laterality": "R"}, {"verbatim": "(R6 or R12)"}],
    )
    url = reverse("clip-review", args=[clip.pk])
    page = reviewer_client.get(url, {"start": imported.pk}).content.decode()
    assert 'value="R12+(R6 or R12)"' in page
    form = {
        "based_on": imported.pk,
        "onset": 50,
        "apex": 60,
        "offset": 80,
        "emotion": imported.emotion_id,
        "action_units": "R12+(R6 or R12)",
        "notes": "",
    }
    assert reviewer_client.post(url, form).status_code == 302
    final = Annotation.objects.get(clip=clip, status=Annotation.Status.ADJUDICATED)
    assert format_au_string(final.au_entries) == "R12+(R6 or R12)"

    refused = reviewer_client.post(url, {**form, "action_units": "R12+L12 or L14"})
    assert "is not an AU code" in refused.content.decode()


def test_the_agreement_page_reports_au_parts_and_the_tolerance_decides_what_it_says(
    two_codings, reviewer_client
):
    """alice coded 6B+R12C, bob R12D: the AU numbers agree 2/3, the shared AU12 is on the same
    side, its intensities differ. Their apexes are 3 frames (15 ms at 200 fps) apart."""
    clip, _, _ = two_codings
    url = reverse("dataset-agreement", args=[clip.subject.dataset.pk])

    def cell(page: str, test_id: str) -> str:
        return re.search(rf'data-testid="{test_id}">([^<]*)<', page).group(1)

    tight = reviewer_client.get(url, {"tolerance_ms": 10}).content.decode()
    assert cell(tight, "au-number-agreement") == "0.667"
    assert cell(tight, "au-laterality-agreement") == "1.000"
    assert cell(tight, "au-intensity-agreement") == "0.000"
    assert cell(tight, "within-apex") == "0 of 1 pairs"
    assert "3.0 / 3.0 frames · 15.0 / 15.0 ms" in tight
    loose = reviewer_client.get(url, {"tolerance_ms": 20}).content.decode()
    assert cell(loose, "within-apex") == "1 of 1 pairs"
    assert "Apex within 20 ms of each other" in loose


def test_the_review_page_plays_a_ready_clip_with_a_lane_per_coder(reviewer_client, two_codings):
    clip, _, _ = two_codings
    response = reviewer_client.get(reverse("clip-review", args=[clip.pk]))
    config = response.context["workbench_config"]
    assert config["saveUrl"] is None  # the adjudication is posted by its own button
    assert [
        (lane["label"], lane["onset"], lane["apex"], lane["offset"]) for lane in config["lanes"]
    ] == [
        ("alice", 50, 60, 80),
        ("bob", 51, 63, 80),
    ]
    actions = {entry["action"] for entry in config["keys"]}
    assert {"prev_coder_mark", "next_coder_mark", "mark_onset"} <= actions
    assert "accept_apex" not in actions  # no proposal on the review page
    assert 'id="workbench-config"' in response.content.decode()


def test_the_workbench_offers_no_lane_keys(client, two_codings):
    clip, _, _ = two_codings
    client.force_login(UserFactory(username="carol", role="coder"))
    config = client.get(reverse("clip-code", args=[clip.pk])).context["workbench_config"]
    assert config["lanes"] == []
    assert not {"prev_coder_mark", "next_coder_mark"} & {e["action"] for e in config["keys"]}


def test_a_clip_whose_frames_are_not_ready_is_reviewed_with_the_plain_form(
    reviewer_client, two_codings
):
    clip, _, _ = two_codings
    clip.ingest_status = clip.IngestStatus.PROCESSING
    clip.save(update_fields=["ingest_status"])
    page = reviewer_client.get(reverse("clip-review", args=[clip.pk]))
    assert page.status_code == 200
    assert "workbench_config" not in page.context
    assert "Save adjudication" in page.content.decode()
