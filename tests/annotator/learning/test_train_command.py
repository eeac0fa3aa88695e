"""`manage.py train`: start a run as the training page does, activate a version, and with --wait
follow the job on a real worker to its end."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotator.models import JobRun, ModelVersion, TrainingRun
from tests.annotator.support.training_runs import training_run_trained
from tests.factories import DatasetFactory, trainable_dataset


def train(*args: str) -> str:
    out = StringIO()
    call_command("train", *args, stdout=out, verbosity=0)
    return out.getvalue()


@pytest.mark.django_db
def test_train_queues_a_run_on_the_named_datasets(django_capture_on_commit_callbacks):
    casme, samm = (
        trainable_dataset(name="CASME II"),
        trainable_dataset(name="SAMM", source_format="samm"),
    )
    trainable_dataset(name="SMIC-HS", source_format="smic")
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        output = train(
            "--dataset", "CASME II", "--dataset", "SAMM", "--model", "flow_linear",
            "--protocol", "kfold", "--epochs", "4", "--min-status", "submitted", "--seed", "5",
        )  # fmt: skip
    training_run = TrainingRun.objects.get()
    job_run = training_run.job_runs.get()
    assert output == (
        f"{training_run} queued as job #{job_run.pk}; follow it on "
        f"/training/{training_run.pk}/ or with --wait.\n"
    )
    assert set(training_run.datasets.all()) == {casme, samm}
    settings = (training_run.protocol, training_run.epochs, training_run.min_status)
    assert settings == ("kfold", 4, "submitted") and training_run.seed == 5
    assert (job_run.kind, job_run.status, len(enqueued)) == ("train", "queued", 1)

    with pytest.raises(CommandError, match="already queued or running"):
        train("--dataset", "SAMM", "--dataset", "CASME II", "--model", "frl_dgt")
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--dataset", "CASME II", "--dataset", "Nope", "--model", "frl_dgt"],
         "No dataset named 'Nope'; known: 'CASME II'."),
        (["--dataset", "CASME II", "--model", "resnet"],
         "Unknown model 'resnet'; choose one of flow_affine_linear, flow_linear, frl_dgt, "),
        (["--model", "frl_dgt"], "Name at least one --dataset to train on."),
        (["--dataset", "CASME II"], "Choose a --model: flow_affine_linear, flow_linear, frl_dgt, "),
        (["--dataset", "CASME II", "--model", "frl_dgt", "--epochs", "0"],
         "--epochs must be at least 1."),
        (["--activate", "999"], "No model version 999."),
        (["--activate", "1", "--dataset", "CASME II"], "--activate starts no training"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_with_the_reason(args, error):
    trainable_dataset(name="CASME II")
    with pytest.raises(CommandError) as raised:
        train(*args)
    assert str(raised.value).startswith(error)
    assert not TrainingRun.objects.exists() and not JobRun.objects.exists()


@pytest.mark.django_db
def test_activate_makes_the_version_active_and_queues_scoring(
    admin_user, django_capture_on_commit_callbacks
):
    version = training_run_trained(
        datasets=[trainable_dataset(name="SAMM", source_format="samm")], created_by=admin_user
    ).model_version
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        output = train("--activate", str(version.pk))
    infer = JobRun.objects.get(kind=JobRun.Kind.INFER)
    assert output == f"{version} is active; scoring the unlabelled clips as job #{infer.pk}.\n"
    assert ModelVersion.objects.get(is_active=True) == version
    assert (infer.model_version, infer.status, len(enqueued)) == (version, "queued", 1)


@pytest.fixture
def committed_version(transactional_db, admin_user) -> ModelVersion:
    """Trained before the worker starts (fixtures are set up in the order a test names them):
    the worker never sees this run's attempt queued."""
    return training_run_trained(
        datasets=[trainable_dataset(name="SAMM", source_format="samm")], created_by=admin_user
    ).model_version


@pytest.mark.worker
def test_wait_follows_the_job_on_a_worker_and_fails_with_its_error(
    committed_version, celery_worker_process, capsys
):
    # No clip to score: the worker loads and checks the checkpoint, then finishes at once.
    call_command("train", "--activate", str(committed_version.pk), "--wait")
    captured = capsys.readouterr()
    infer = JobRun.objects.get(kind=JobRun.Kind.INFER)
    assert infer.status == JobRun.Status.SUCCEEDED
    assert captured.out.endswith(f"{infer}: 0 clips scored\n")
    assert "Infer" in captured.err and "100%" in captured.err  # the progress bar

    # A dataset without one annotated clip cannot be evaluated: refused before any job exists,
    # with the same words as the training page.
    DatasetFactory(name="Empty")
    with pytest.raises(CommandError, match=r"This selection cannot be evaluated\. 0 subjects"):
        call_command("train", "--dataset", "Empty", "--model", "flow_linear", "--wait")
    assert not TrainingRun.objects.filter(datasets__name="Empty").exists()
