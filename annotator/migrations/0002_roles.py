"""Roles are auth groups with the model permissions each role needs."""

from django.db import migrations

ROLE_PERMISSIONS = {
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
    ],
    "admin": None,  # every permission of the annotator app
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; the groups need them now.
    app_config = apps.get_app_config("annotator")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    app_permissions = Permission.objects.filter(content_type__app_label="annotator")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        chosen = (
            app_permissions if codenames is None else app_permissions.filter(codename__in=codenames)
        )
        group.permissions.set(chosen)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
