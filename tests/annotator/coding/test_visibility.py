"""Who sees which annotation, through the API and through the ELAN pages alike: a coder their
own only (coding is blind), a reviewer also every coder's submitted and adjudicated work, and
nobody another coder's draft."""

import pytest
from django.urls import reverse

from annotator.models import Annotation
from tests.factories import ClipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coded_clip(coder):
    clip = ClipFactory()
    other = UserFactory(username="coder2", role="coder")
    reviewer = UserFactory(username="rev", role="reviewer")
    annotations = {
        "mine": Annotation.objects.create(clip=clip, coder=coder, onset=50),
        "other draft": Annotation.objects.create(clip=clip, coder=other, onset=51),
        "other submitted": Annotation.objects.create(
            clip=clip, coder=UserFactory(username="coder3", role="coder"), status="submitted"
        ),
        "reviewer draft": Annotation.objects.create(clip=clip, coder=reviewer, onset=52),
        "final": Annotation.objects.create(clip=clip, coder=reviewer, status="adjudicated"),
    }
    return clip, reviewer, {annotation.pk: name for name, annotation in annotations.items()}


def seen_through_the_api(api, clip) -> set[str]:
    response = api.get("/api/v1/annotations/", {"clip": clip.pk})
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def seen_on_the_elan_page(client, clip, names) -> set[int]:
    page = client.get(reverse("clip-eaf", args=[clip.pk])).content.decode()
    return {pk for pk in names if reverse("clip-eaf-download", args=[clip.pk, pk]) in page}


def test_every_door_shows_a_user_the_same_annotations(coded_clip, coder, api_as, client):
    clip, reviewer, names = coded_clip
    for user, expected in [
        (coder, {"mine"}),
        (reviewer, {"other submitted", "reviewer draft", "final"}),
    ]:
        client.force_login(user)
        through_api = {names[pk] for pk in seen_through_the_api(api_as(user), clip)}
        on_page = {names[pk] for pk in seen_on_the_elan_page(client, clip, names)}
        assert through_api == on_page == expected, user.username
        # What a door does not list it does not serve either.
        for pk, name in names.items():
            if name not in expected:
                download = client.get(reverse("clip-eaf-download", args=[clip.pk, pk]))
                assert download.status_code == 404, (user.username, name)
                assert api_as(user).get(f"/api/v1/annotations/{pk}/").status_code == 404
