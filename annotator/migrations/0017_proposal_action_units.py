# Proposals carry the AU head's probabilities, so the workbench can offer the proposed AUs to a
# coder. Proposals scored before (and versions without an AU head) keep {}: no AU proposed.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0016_proposal_offset"),
    ]

    operations = [
        migrations.AddField(
            model_name="proposal",
            name="action_units",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='{"AU4": p, ...}: the AU head\'s probabilities; {} without an AU head.',
            ),
        ),
    ]
