"""Roles are auth groups with the model permissions each role needs.

They are (re)created after every migrate, like Django's own permissions, so a fresh database, an
upgraded one and a test database flushed between tests all have them.
"""

from annotator.models import Role

ROLE_PERMISSIONS: dict[str, list[str] | None] = {
    Role.CODER: [
        "view_dataset",
        "view_subject",
        "view_clip",
        "view_annotation",
        "add_annotation",
        "change_annotation",
    ],
    Role.REVIEWER: [
        "view_dataset",
        "view_subject",
        "view_clip",
        "view_annotation",
        "add_annotation",
        "change_annotation",
        "view_jobrun",
        "adjudicate_annotation",
    ],
    Role.ADMIN: None,  # every permission of the annotator app
}


def roles_ensure(*, using: str = "default", **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    app_permissions = Permission.objects.using(using).filter(content_type__app_label="annotator")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        chosen = (
            app_permissions if codenames is None else app_permissions.filter(codename__in=codenames)
        )
        group.permissions.set(chosen)
