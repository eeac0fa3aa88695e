"""The permission backend reads a user's permissions in one statement; it must grant exactly what
Django's ModelBackend grants, for roles (groups), permissions given to the user directly,
superusers and deactivated accounts."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

from annotator.models import Role
from annotator.role_permissions import ROLE_PERMISSIONS
from annotator.roles import RolePermissionBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def both_backends(user) -> tuple[set[str], set[str]]:
    """Each backend on a freshly loaded user, as a new request would see it."""
    fresh = get_user_model().objects.get(pk=user.pk)
    ours = RolePermissionBackend().get_all_permissions(fresh)
    fresh = get_user_model().objects.get(pk=user.pk)
    return ours, ModelBackend().get_all_permissions(fresh)


@pytest.mark.parametrize("role", ["coder", "reviewer", "admin"])
def test_a_role_grants_what_model_backend_grants(role):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=role))  # the group alone, not a superuser
    ours, django = both_backends(user)
    assert ours == django
    assert ("annotator.adjudicate_annotation" in ours) == (role != "coder")
    assert ("annotator.add_trainingrun" in ours) == (role == "admin")


def test_direct_and_group_permissions_are_combined():
    user = UserFactory(role="coder")
    user.user_permissions.add(Permission.objects.get(codename="view_jobrun"))
    ours, django = both_backends(user)
    assert ours == django
    assert {"annotator.view_jobrun", "annotator.change_annotation"} <= ours


def test_inactive_users_have_no_permissions_and_superusers_have_all():
    inactive = UserFactory(role="admin", is_active=False)
    assert both_backends(inactive) == (set(), set())
    superuser = UserFactory(is_superuser=True)
    every = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }
    assert both_backends(superuser) == (every, every)


def test_a_role_taken_away_applies_to_the_next_request(coder):
    assert get_user_model().objects.get(pk=coder.pk).has_perm("annotator.change_annotation")
    coder.groups.remove(Group.objects.get(name="coder"))
    assert not get_user_model().objects.get(pk=coder.pk).has_perm("annotator.change_annotation")


def test_every_role_has_its_permissions_listed_least_privileged_first():
    # role_permissions imports no model (the app's config loads it first), so it spells the
    # roles by value; they must stay the Role choices, in the order user_role relies on.
    assert list(ROLE_PERMISSIONS) == [Role.CODER, Role.REVIEWER, Role.RESEARCHER, Role.ADMIN]
