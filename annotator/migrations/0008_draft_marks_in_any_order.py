import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Drafts store marks as typed (apex before onset included); the order holds from submit on.
    Each save records who made it, for the coder whose later save is refused as stale."""

    dependencies = [
        ("annotator", "0007_queue_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="annotation",
            name="updated_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RemoveConstraint(model_name="annotation", name="onset_not_after_offset"),
        migrations.AddConstraint(
            model_name="annotation",
            constraint=models.CheckConstraint(
                condition=models.Q(status="draft")
                | models.Q(onset__isnull=True)
                | models.Q(offset__isnull=True)
                | models.Q(onset__lte=models.F("offset")),
                name="onset_not_after_offset",
            ),
        ),
    ]
