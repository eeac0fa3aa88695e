"""ELAN files: tiers and millisecond times as ELAN shows them, and EAF round trips through the
library and through the clip's download and upload pages."""

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotator.coding import services as coding_services
from annotator.errors import ClaimError
from annotator.exchange import services as exchange
from annotator.models import Annotation, Coding
from mlcore.elan import ElanCoding, ElanFormatError, eaf_text, read_eaf
from mlcore.facs import UnparsedAU, parse_au_string
from tests.factories import ClipFactory, DatasetFactory, SubjectFactory, UserFactory


def _coding(**changes) -> ElanCoding:
    values = {
        "clip": "EP02_01f",
        "fps": 200.0,
        "first_frame": 46,
        "onset": 50,
        "apex": 60,
        "offset": 80,
        "emotion": "disgust",
        "action_units": tuple(parse_au_string("4+L10B")),
        "notes": "brow first",
    }
    return ElanCoding(**{**values, **changes})


def _tiers(text: str) -> dict[str, list[tuple[int, int, str]]]:
    root = ET.fromstring(text)
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    return {
        tier.get("TIER_ID"): [
            (
                slots[a.get("TIME_SLOT_REF1")],
                slots[a.get("TIME_SLOT_REF2")],
                a.findtext("ANNOTATION_VALUE"),
            )
            for a in tier.iter("ALIGNABLE_ANNOTATION")
        ]
        for tier in root.iter("TIER")
    }


def test_tiers_and_times_in_milliseconds() -> None:
    tiers = _tiers(eaf_text(_coding()))
    # Frame 50 is 4 frames after the first (46): 20 ms at 200 fps; offset 80 ends at 35 frames.
    assert tiers == {
        "Expression": [(20, 175, "disgust")],
        "Apex": [(70, 75, "apex")],
        "Notes": [(20, 175, "brow first")],
        "AU 4": [(20, 175, "4")],
        "AU L10": [(20, 175, "L10B")],
    }


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"apex": None, "notes": "", "action_units": ()},
        {"fps": 30.0, "first_frame": 1, "onset": 7, "apex": 19, "offset": 33},
        {"fps": 100.0, "first_frame": 2418, "onset": 2418, "apex": None, "offset": 2429},
        # A SAMM sheet's non-codes travel as written, in their order.
        {"action_units": (*parse_au_string("4+L10B"), UnparsedAU("(R6 or R12)"), UnparsedAU("?"))},
    ],
)
def test_eaf_round_trip(changes) -> None:
    coding = _coding(**changes)
    back = read_eaf(eaf_text(coding).encode())
    # AU tiers come back in tier-name order; the set of codes is what must survive.
    assert sorted(map(str, back.action_units)) == sorted(map(str, coding.action_units))
    assert replace(back, action_units=()) == replace(coding, action_units=())


def test_eaf_made_elsewhere_needs_the_clip_timing(tmp_path) -> None:
    text = eaf_text(_coding()).replace("mestudio:fps", "other:fps")
    with pytest.raises(ElanFormatError, match="fps and first frame"):
        read_eaf(text.encode())
    assert read_eaf(text.encode(), fps=200.0, first_frame=46).onset == 50
    with pytest.raises(ElanFormatError, match="not an ELAN"):
        read_eaf(b"<html>no</html")


@pytest.mark.django_db
def test_clip_eaf_download_and_upload_round_trip(client, admin_user) -> None:
    dataset = DatasetFactory(name="CASME II", source_format="casme2")
    clip = ClipFactory(subject=SubjectFactory(dataset=dataset, code="01"), name="EP02_01f")
    # A coder who started the clip before it was adjudicated keeps their draft to upload into;
    # nobody else can start one on an adjudicated clip.
    coder = UserFactory(username="coder-x", role="coder")
    coding_services.clip_claim(clip=clip, coder=coder)
    final = coding_services.annotation_adjudicate(
        clip=clip,
        reviewer=admin_user,
        based_on=None,
        revision=None,
        coding=Coding(
            onset=50,
            apex=61,
            offset=90,
            emotion=dataset.emotions.get(name="repression"),
            action_units=parse_au_string("R12B+14"),
            notes="subtle",
        ),
    )
    reviewer = UserFactory(username="rev", role="reviewer")
    client.force_login(reviewer)
    page = client.get(reverse("clip-eaf", args=[clip.pk]))
    url = reverse("clip-eaf-download", args=[clip.pk, final.pk])
    assert url.encode() in page.content
    download = client.get(url)
    assert download["Content-Disposition"] == 'attachment; filename="casme-ii_01_EP02_01f.eaf"'
    eaf = download.content

    latecomer = UserFactory(username="coder-y", role="coder")
    client.force_login(latecomer)
    refused = client.post(
        reverse("clip-eaf-upload", args=[clip.pk]), {"eaf": SimpleUploadedFile("x.eaf", eaf)}
    )
    assert refused.status_code == 409  # the clip's state refuses it, as the API says
    assert "is adjudicated" in refused.content.decode()
    assert not Annotation.objects.filter(clip=clip, coder=latecomer).exists()

    client.force_login(coder)
    assert client.get(url).status_code == 404  # coding is blind: not someone else's work
    response = client.post(
        reverse("clip-eaf-upload", args=[clip.pk]),
        {"eaf": SimpleUploadedFile("x.eaf", eaf)},
    )
    assert response.status_code == 302
    draft = Annotation.objects.get(clip=clip, coder=coder)
    assert draft.status == Annotation.Status.DRAFT
    assert (draft.onset, draft.apex, draft.offset, draft.emotion.name, draft.notes) == (
        50,
        61,
        90,
        "repression",
        "subtle",
    )
    assert set(map(str, draft.au_codes)) == {"R12B", "14"}
    assert Annotation.objects.get(pk=final.pk).revision == final.revision  # untouched

    other = ClipFactory(subject=clip.subject, name="EP03_02")
    refused = client.post(
        reverse("clip-eaf-upload", args=[other.pk]), {"eaf": SimpleUploadedFile("x.eaf", eaf)}
    )
    assert refused.status_code == 400 and b"codes clip &#x27;EP02_01f&#x27;" in refused.content


@pytest.mark.django_db
def test_clip_eaf_import_reports_frames_outside_the_clip(admin_user) -> None:
    clip = ClipFactory()  # frames 46..105
    coding = _coding(clip=clip.name, offset=140)
    with pytest.raises(ValidationError, match="not in this clip"):
        exchange.clip_eaf_import(clip=clip, coder=admin_user, data=eaf_text(coding).encode())


def test_an_eaf_links_the_clips_video_so_elan_opens_it_beside_the_file(admin_user) -> None:
    dataset = DatasetFactory(name="Lab", source_format="generic")
    clip = ClipFactory(subject=SubjectFactory(dataset=dataset, code="p1"), name="take1")
    clip.source.name = "uploads/2026/12/take1.mp4"
    clip.save()
    final = coding_services.annotation_adjudicate(
        clip=clip,
        reviewer=admin_user,
        based_on=None,
        revision=None,
        coding=Coding(
            onset=50,
            apex=None,
            offset=60,
            emotion=dataset.emotions.first(),
            action_units=[],
            notes="",
        ),
    )
    _, data = exchange.clip_eaf_export(annotation=final)
    [media] = ET.fromstring(data).iter("MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL").endswith("take1.mp4")
    assert media.get("RELATIVE_MEDIA_URL") == "./take1.mp4"
    assert media.get("MIME_TYPE") == "video/mp4"
    assert read_eaf(data).clip == "take1"  # the link does not disturb reading it back


def test_an_eaf_upload_cannot_give_a_coder_a_second_annotation_of_a_clip(client, coder) -> None:
    """The probe: a coder who had submitted a clip uploaded an EAF and got a second annotation,
    and the review paired them with themselves. Every door now refuses it."""
    clip = ClipFactory()  # frames 46..105, dataset CASME II-like vocabulary
    emotion = clip.subject.dataset.emotions.first()
    Annotation.objects.create(
        clip=clip, coder=coder, onset=50, apex=60, offset=80, emotion=emotion, status="submitted"
    )
    data = eaf_text(_coding(clip=clip.name, emotion=emotion.name)).encode()
    client.force_login(coder)
    refused = client.post(
        reverse("clip-eaf-upload", args=[clip.pk]),
        {"eaf": SimpleUploadedFile("mine.eaf", data)},
    )
    assert refused.status_code == 409
    assert "You already submitted an annotation of" in refused.content.decode()
    assert Annotation.objects.filter(clip=clip, coder=coder).count() == 1
    with pytest.raises(ClaimError, match="already submitted"):
        coding_services.clip_claim(clip=clip, coder=coder)
