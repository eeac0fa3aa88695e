from django.db import migrations, models


class Migration(migrations.Migration):
    """Drafts store marks as typed (apex before onset included); the order holds from submit on."""

    dependencies = [
        ("annotator", "0007_queue_indexes"),
    ]

    operations = [
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
