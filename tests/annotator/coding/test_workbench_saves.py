"""The workbench's autosave and submit answers, as the page receives them: a refused stale save
names who saved and what differs; a field that cannot be stored never blocks the others."""

import pytest
from django.urls import reverse

from annotator.coding import services as coding_services
from annotator.models import Annotation, Coding
from mlcore.facs import UnparsedAU, format_au_string, parse_au_string
from tests.factories import ClipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(client, coder):
    client.force_login(coder)
    return coding_services.clip_claim(clip=ClipFactory(), coder=coder)  # frames 46..105


def post(client, draft, *, submit=False, **fields):
    name = "annotation-submit" if submit else "annotation-save"
    data = {"revision": 1, "onset": "", "apex": "", "offset": "", "notes": "", **fields}
    return client.post(reverse(name, args=[draft.pk]), data)


def test_a_stale_save_names_the_other_person_and_the_fields_that_differ(client, draft, admin_user):
    coding_services.annotation_update(
        annotation=draft,
        revision=1,
        saved_by=admin_user,
        coding=Coding(
            onset=50,
            apex=None,
            offset=None,
            emotion=None,
            action_units=[],
            notes="fixed by the admin",
        ),
    )
    response = post(client, draft, onset="60", notes="fixed by the admin")
    page = response.content.decode()
    assert response.status_code == 409
    assert "boss saved this draft at" in page and "You saved" not in page
    assert 'data-field="onset"' in page and 'data-field="notes"' not in page
    assert 'name="revision" id="revision" value="1"' in page  # no silent overwrite later
    assert Annotation.objects.get(pk=draft.pk).onset == 50


def test_a_field_that_cannot_be_stored_keeps_its_value_and_the_rest_is_saved(client, draft):
    response = post(client, draft, onset="-3", apex="70", notes="kept")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-state="partial"' in page and "except onset" in page
    stored = Annotation.objects.get(pk=draft.pk)
    assert (stored.onset, stored.apex, stored.notes, stored.revision) == (None, 70, "kept", 2)


def test_a_refused_submit_says_the_draft_was_saved(client, draft):
    response = post(client, draft, submit=True, onset="80", offset="60", notes="almost")
    page = response.content.decode()
    assert response.status_code == 422
    assert "Your draft is saved (revision 2) but cannot be submitted yet" in page
    assert "must not come before onset" in page and "Required before submitting" in page
    stored = Annotation.objects.get(pk=draft.pk)
    assert (stored.status, stored.onset, stored.notes) == (Annotation.Status.DRAFT, 80, "almost")


def test_an_imported_sheets_non_codes_survive_a_workbench_save_but_none_can_be_typed(
    client, draft, coder
):
    """An import stored `?` and `ref(7B)` beside AU4; the workbench shows them as AU chips and
    sends them back with every save, so editing the draft keeps them."""
    coding_services.annotation_update(
        annotation=draft,
        revision=1,
        saved_by=coder,
        coding=Coding(
            onset=50,
            apex=None,
            offset=60,
            emotion=None,
            action_units=[*parse_au_string("4"), UnparsedAU("?"), UnparsedAU("ref(7B)")],
            notes="",
        ),
    )
    page = client.get(reverse("clip-code", args=[draft.clip_id])).content.decode()
    assert '"actionUnits": ["4", "?", "ref(7B)"]' in page
    assert '"auAsWritten": ["?", "ref(7B)"]' in page

    saved = post(client, draft, revision=2, onset="50", offset="62", action_units="4+R12+?+ref(7B)")
    assert saved.status_code == 200
    stored = Annotation.objects.get(pk=draft.pk)
    assert format_au_string(stored.au_entries) == "4+R12+?+ref(7B)"

    typed = post(client, draft, revision=3, onset="50", offset="62", action_units="4+ref(9)")
    assert "is not an AU code" in typed.content.decode()
    assert format_au_string(Annotation.objects.get(pk=draft.pk).au_entries) == "4+R12+?+ref(7B)"


def test_release_of_a_draft_with_saved_edits_needs_the_coders_word(client, draft, coder):
    assert post(client, draft, onset="50").status_code == 200
    url = reverse("annotation-release", args=[draft.pk])
    kept = client.post(url, follow=True)
    assert kept.redirect_chain == [(reverse("clip-code", args=[draft.clip_id]), 302)]
    assert "releasing the clip discards them" in kept.content.decode()
    assert Annotation.objects.get(pk=draft.pk).onset == 50
    released = client.post(url, {"discard": "1"})
    assert released.status_code == 302 and released["Location"] == reverse("coder-queue")
    assert not Annotation.objects.filter(pk=draft.pk).exists()
    assert client.post(url, {"discard": "1"}).status_code == 404  # gone, and never another's
