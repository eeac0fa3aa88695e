"""Migration 0099 on a database of runs made before the first attempt recorded its model options:
a frozen run records the options it trained with (its own: no AU head was resolved then), so its
retry resumes its folder; a run never frozen resolves them when it trains."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("annotator", "0017_proposal_action_units")]
AFTER = [("annotator", "0018_trainingrun_trained_model_options")]


def migrated_to(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.fixture
def latest_schema_after():
    """Migrates the test database back to the latest schema, whatever the test left."""
    yield
    migrated_to(MigrationExecutor(connection).loader.graph.leaf_nodes("annotator"))


@pytest.mark.django_db(transaction=True)
def test_runs_frozen_before_record_their_own_options_and_unfrozen_ones_resolve_later(
    latest_schema_after,
):
    old = migrated_to(BEFORE)
    TrainingRun = old.get_model("annotator", "TrainingRun")
    options = {"dim": 16, "depth": 1}
    frozen = TrainingRun.objects.create(
        selection_key="1", model_name="frl_dgt", model_options=options, snapshot_at=timezone.now()
    )
    queued = TrainingRun.objects.create(
        selection_key="2", model_name="frl_dgt", model_options=options
    )

    TrainingRun = migrated_to(AFTER).get_model("annotator", "TrainingRun")
    assert TrainingRun.objects.get(pk=frozen.pk).trained_model_options == options
    assert TrainingRun.objects.get(pk=queued.pk).trained_model_options is None
