"""API tokens move from DRF's authtoken (keys in plain text, no expiry) to django-rest-knox
(hashed keys that expire). Existing keys keep working until API_TOKEN_TTL from now: each is
stored as knox stores a key, and the plain-text copies are deleted."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"


def hash_existing_keys(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return  # a database made after the move
    AuthToken = apps.get_model("knox", "AuthToken")
    expiry = timezone.now() + settings.API_TOKEN_TTL
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {OLD_TABLE}")
        rows = cursor.fetchall()
        for key, user_id, created in rows:
            digest = hash_token(key)
            AuthToken(
                digest=digest,
                token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=expiry,
            ).save()
            AuthToken.objects.filter(pk=digest).update(created=created)  # not the move's time
        cursor.execute(f"DELETE FROM {OLD_TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0008_draft_marks_in_any_order"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(hash_existing_keys, migrations.RunPython.noop)]
