"""Which model permissions each role (an auth group, keyed by `Role`'s value) holds, and keeping
the groups so after every migrate, like Django's own permissions, so a fresh database, an
upgraded one and a test database flushed between tests all have them.

The app's config connects `roles_ensure` while Django is still loading the apps, so this module
imports no model: the handler reads Group and Permission from the registry the migrate hands it.
"""

from django.apps import apps as global_apps

ROLE_PERMISSIONS: dict[str, list[str] | None] = {
    "coder": [
        "view_dataset",
        "view_subject",
        "view_clip",
        "view_annotation",
        "add_annotation",
        "change_annotation",
    ],
    "reviewer": [
        "view_dataset",
        "view_subject",
        "view_clip",
        "view_annotation",
        "add_annotation",
        "change_annotation",
        "view_jobrun",
        "adjudicate_annotation",
    ],
    # Reads the corpus and the models' results and exports datasets; starts, cancels and
    # activates nothing, and codes nothing.
    "researcher": [
        "view_dataset",
        "view_subject",
        "view_clip",
        "view_annotation",
        "export_dataset",
        "view_trainingrun",
        "view_modelversion",
    ],
    "admin": None,  # every permission of the annotator app
}


def roles_ensure(*, apps=global_apps, using: str = "default", **kwargs) -> None:
    """post_migrate, after auth has created the permissions the groups are given (migrate sends
    its registry; a flush sends none, as for Django's own create_permissions)."""
    group_model = apps.get_model("auth", "Group")
    app_permissions = (
        apps.get_model("auth", "Permission")
        .objects.using(using)
        .filter(content_type__app_label="annotator")
    )
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.using(using).get_or_create(name=role)
        chosen = (
            app_permissions if codenames is None else app_permissions.filter(codename__in=codenames)
        )
        group.permissions.set(chosen)
