# A retry trains with the model options of its run's first attempt, recorded on the run. A run
# frozen before they were recorded trained with its model_options as given (no AU head was
# resolved then), so that is what it records; a run never frozen resolves them when it trains.

from django.db import migrations, models


def record_what_frozen_runs_trained_with(apps, schema_editor):
    TrainingRun = apps.get_model("annotator", "TrainingRun")
    for training_run in TrainingRun.objects.filter(snapshot_at__isnull=False):
        training_run.trained_model_options = training_run.model_options
        training_run.save(update_fields=["trained_model_options"])


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0017_proposal_action_units"),
    ]

    operations = [
        migrations.AddField(
            model_name="trainingrun",
            name="trained_model_options",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(record_what_frozen_runs_trained_with, migrations.RunPython.noop),
    ]
