"""Roles are auth groups with the model permissions each role needs (`role_permissions`): the
pages' access rule, a user's role, and the permission backend that reads them."""

from collections.abc import Callable
from functools import cache, wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connections, router

from annotator.errors import InvalidRequestError
from annotator.models import Role
from annotator.role_permissions import ROLE_PERMISSIONS


def role_needed_for(permission: str) -> str:
    """The first role, from the least privileged up, that holds `permission`."""
    codename = permission.split(".", 1)[-1]
    for role, codenames in ROLE_PERMISSIONS.items():
        if codenames is None or codename in codenames:
            return Role(role).label
    return Role.ADMIN.label


def role_check(*, user, permission: str, action: str = "This page") -> None:
    """Refuse with the styled 403 page naming the role that `permission` needs."""
    if not user.has_perm(permission):
        raise PermissionDenied(f"{action} needs the {role_needed_for(permission)} role.")


def role_required(permission: str) -> Callable:
    """Every page's access rule: signed-out visitors go to the log-in page; a signed-in user
    without the permission gets the styled 403 page naming the role it needs."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def checked(request, *args, **kwargs):
            role_check(user=request.user, permission=permission)
            return view(request, *args, **kwargs)

        return login_required(checked)

    return decorator


def user_role(*, user) -> str | None:
    """The user's role: the most privileged of their role groups (admin for a superuser)."""
    if user.is_superuser:
        return Role.ADMIN
    held = set(user.groups.values_list("name", flat=True))
    return next((role for role in reversed(ROLE_PERMISSIONS) if role in held), None)


def user_role_set(*, user, role: str | None) -> None:
    """Give `user` exactly one role (or none): its group replaces their other role groups, and
    only an admin is staff and superuser, so the admin site and the pages agree."""
    if role is not None and role not in ROLE_PERMISSIONS:
        raise InvalidRequestError(
            f"unknown role {role!r}; choose from {', '.join(ROLE_PERMISSIONS)}"
        )
    user.groups.remove(*Group.objects.filter(name__in=list(ROLE_PERMISSIONS)))
    if role is not None:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    user.__dict__.pop("_perm_cache", None)


class RolePermissionBackend(ModelBackend):
    """Django's model backend, with a user's permissions read in one SQL statement.

    Every API request checks its role, and ModelBackend builds two ORM queries for that (the
    user's own permissions and their groups'): about 2 ms of CPU a request, a quarter of an
    autosave. The statement below returns the same set; it is read fresh on each request, so a
    role taken away applies to the next request.
    """

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            with connections[router.db_for_read(Permission)].cursor() as cursor:
                cursor.execute(_user_permissions_sql(), [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app}.{codename}" for app, codename in cursor}
        return user_obj._perm_cache


@cache
def _user_permissions_sql() -> str:
    user_model = get_user_model()
    user_permissions = user_model.user_permissions.through._meta
    user_groups = user_model.groups.through._meta
    group_permissions = Group.permissions.through._meta
    return (
        f"SELECT ct.app_label, p.codename FROM {Permission._meta.db_table} p "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
        f"WHERE p.id IN ("
        f"SELECT permission_id FROM {user_permissions.db_table} WHERE user_id = %s "
        f"UNION SELECT gp.permission_id FROM {group_permissions.db_table} gp "
        f"JOIN {user_groups.db_table} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)"
    )
