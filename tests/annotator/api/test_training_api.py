"""Training runs, model versions and proposals over the API: admins start, cancel and retry
runs, activate versions and read proposals in uncertainty order; nobody else does."""

import pytest

from annotator.models import JobRun, ModelVersion, Proposal, TrainingRun
from mlcore.facs import AU_HEAD_UNITS
from tests.annotator.support.training_runs import training_run_trained
from tests.factories import ClipFactory, DatasetFactory, UserFactory, trainable_dataset
from tests.mlcore.training_fixtures import TINY_FRL_DGT

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/training-runs/"
VERSIONS = "/api/v1/model-versions/"
PROPOSALS = "/api/v1/proposals/"


def start(api, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post(RUNS, {"model_name": "flow_linear", **fields}, format="json")
    return response, queued


def trained_version(*, uf1: float, labelled_clips: int, active: bool = False) -> ModelVersion:
    """What a finished run leaves behind: the run with its metrics and its model version."""
    metrics = {"pooled": {"full": {"uf1": uf1, "uar": uf1 - 0.05}}, "n_clips": labelled_clips}
    run = TrainingRun.objects.create(
        selection_key="1", model_name="flow_linear", epochs=2, metrics=metrics
    )
    return ModelVersion.objects.create(
        training_run=run,
        model_name="flow_linear",
        metrics=metrics,
        labelled_clips=labelled_clips,
        checkpoint=f"training/{run.pk}/run/final.pt",
        checkpoint_sha256="ab" * 32,
        is_active=active,
    )


def propose(*, clip, version, entropy: float, margin: float, bald: float) -> Proposal:
    return Proposal.objects.create(
        clip=clip,
        model_version=version,
        onset=clip.frame_indices[0],
        apex=clip.frame_indices[5],
        offset=clip.frame_indices[8],
        apex_confidence=0.8,
        probabilities={"negative": 0.2, "positive": 0.5, "surprise": 0.3},
        predicted_class="positive",
        entropy=entropy,
        margin=margin,
        bald=bald,
        novelty=0.5,
        embedding=[0.25, -1.5, 3.0],
    )


def test_an_admin_starts_a_run_and_follows_its_job(
    api_as, admin_user, django_capture_on_commit_callbacks
):
    first = trainable_dataset(name="CASME II")
    second = trainable_dataset(name="SAMM", source_format="samm")
    api = api_as(admin_user)
    response, queued = start(
        api,
        django_capture_on_commit_callbacks,
        datasets=[second.pk, first.pk, second.pk],
        epochs=3,
        protocol="kfold",
        min_status="submitted",
        seed=7,
    )
    assert response.status_code == 202, response.json()
    assert len(queued) == 1  # the training task, sent once the run is committed
    body = response.json()
    run = TrainingRun.objects.get(pk=body["id"])
    assert response["Location"].endswith(f"{RUNS}{run.pk}/")
    assert sorted(body["datasets"]) == sorted([first.pk, second.pk])
    assert run.selection_key == ",".join(str(pk) for pk in sorted([first.pk, second.pk]))
    assert (body["model_name"], body["protocol"], body["epochs"], body["seed"]) == (
        "flow_linear",
        "kfold",
        3,
        7,
    )
    assert body["min_status"] == "submitted" and body["created_by"] == "boss"
    assert body["model_version"] is None and body["metrics"] == {}
    job = body["latest_job"]
    assert (job["kind"], job["queue"], job["status"], job["training_run"]) == (
        "train",
        "train",
        "queued",
        run.pk,
    )

    # The worker reports progress on the job; the run shows it.
    JobRun.objects.filter(pk=job["id"]).update(
        status="running", progress=0.35, message="fold 2/4, epoch 1/3, loss 0.9000"
    )
    shown = api.get(f"{RUNS}{run.pk}/").json()["latest_job"]
    assert (shown["status"], shown["progress"], shown["message"]) == (
        "running",
        0.35,
        "fold 2/4, epoch 1/3, loss 0.9000",
    )
    [listed] = api.get(RUNS, {"dataset": first.pk}).json()["results"]
    assert listed["id"] == run.pk and listed["latest_job"]["id"] == job["id"]
    assert api.get(RUNS, {"protocol": "loso"}).json()["results"] == []


def test_a_second_run_on_the_same_datasets_waits_for_the_first(
    api_as, admin_user, django_capture_on_commit_callbacks
):
    dataset = trainable_dataset()
    api = api_as(admin_user)
    first, _ = start(api, django_capture_on_commit_callbacks, datasets=[dataset.pk])
    assert first.status_code == 202
    busy, queued = start(api, django_capture_on_commit_callbacks, datasets=[dataset.pk])
    assert busy.status_code == 409
    [error] = busy.json()["errors"]
    assert error["code"] == "training_busy" and error["field"] is None
    assert "already queued or running" in error["message"]
    assert queued == [] and TrainingRun.objects.count() == 1


def test_bad_training_requests_are_refused_and_nothing_is_queued(
    api_as, admin_user, django_capture_on_commit_callbacks
):
    dataset = DatasetFactory()
    api = api_as(admin_user)
    cases = [
        ({"datasets": []}, None, "Choose at least one dataset to train on."),
        ({"datasets": [dataset.pk + 1]}, "datasets", None),
        ({"datasets": [dataset.pk], "model_name": "resnet"}, "model_name", None),
        ({"datasets": [dataset.pk], "epochs": 0}, "epochs", None),
        ({"datasets": [dataset.pk], "protocol": "random"}, "protocol", None),
    ]
    for fields, field, message in cases:
        response, queued = start(api, django_capture_on_commit_callbacks, **fields)
        assert response.status_code == 400, fields
        [error] = response.json()["errors"]
        assert error["field"] == field, fields
        if message:
            assert error["message"] == message
        assert queued == []
    assert not TrainingRun.objects.exists() and not JobRun.objects.exists()


def test_cancel_then_retry_makes_a_new_attempt(
    api_as, admin_user, django_capture_on_commit_callbacks
):
    api = api_as(admin_user)
    started, _ = start(api, django_capture_on_commit_callbacks, datasets=[trainable_dataset().pk])
    run_id, first_attempt = started.json()["id"], started.json()["latest_job"]["id"]

    with django_capture_on_commit_callbacks(execute=False) as queued:
        busy = api.post(f"{RUNS}{run_id}/retry/")
    assert busy.status_code == 409 and busy.json()["errors"][0]["code"] == "training_busy"
    assert queued == []

    cancelled = api.post(f"{RUNS}{run_id}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["latest_job"]["status"] == "cancelled"
    again = api.post(f"{RUNS}{run_id}/cancel/")
    assert again.status_code == 409
    assert again.json()["errors"][0] == {
        "field": None,
        "code": "not_running",
        "message": f"Training run {run_id} is not queued or running.",
    }

    with django_capture_on_commit_callbacks(execute=False) as queued:
        retried = api.post(f"{RUNS}{run_id}/retry/")
    assert retried.status_code == 202 and len(queued) == 1
    attempt = retried.json()["latest_job"]
    assert attempt["id"] != first_attempt and attempt["status"] == "queued"
    statuses = JobRun.objects.filter(training_run=run_id).order_by("pk")
    assert list(statuses.values_list("status", flat=True)) == ["cancelled", "queued"]


def test_a_finished_run_is_not_retried(api_as, admin_user):
    version = trained_version(uf1=0.6, labelled_clips=20)
    response = api_as(admin_user).post(f"{RUNS}{version.training_run_id}/retry/")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "already_finished"
    assert not JobRun.objects.exists()


def test_a_run_that_trained_the_au_head_gives_each_aus_f1(api_as, admin_user):
    run = training_run_trained(
        datasets=[trainable_dataset(name="CASME II")],
        created_by=admin_user,
        model_name="frl_dgt",
        model_options=TINY_FRL_DGT,
        au_coded={0: "4+L10", 1: "R12B", 2: "1+2"},
    )
    au = api_as(admin_user).get(f"{RUNS}{run.pk}/").json()["metrics"]["au"]
    assert au["units"] == list(AU_HEAD_UNITS) and au["n_clips"] == 9
    assert set(au["per_au"]) == {f"AU{unit}" for unit in AU_HEAD_UNITS}
    assert au["per_au"]["AU12"]["support"] == 3 and au["per_au"]["AU26"]["support"] == 0
    scored = [entry["f1"] for entry in au["per_au"].values() if entry["f1"] is not None]
    assert au["mean_f1"] == pytest.approx(sum(scored) / len(scored))


def test_model_versions_show_their_scores_and_activation_queues_scoring(
    api_as, admin_user, django_capture_on_commit_callbacks
):
    old = trained_version(uf1=0.5, labelled_clips=10, active=True)
    new = trained_version(uf1=0.7, labelled_clips=25)
    propose(clip=ClipFactory(), version=old, entropy=0.9, margin=0.1, bald=0.2)
    api = api_as(admin_user)

    listed = api.get(VERSIONS).json()["results"]
    assert [v["id"] for v in listed] == [new.pk, old.pk]
    shown = api.get(f"{VERSIONS}{old.pk}/").json()
    assert shown["metrics"]["pooled"]["full"]["uf1"] == 0.5
    assert (shown["labelled_clips"], shown["checkpoint_sha256"]) == (10, "ab" * 32)
    assert (shown["is_active"], shown["proposal_count"]) == (True, 1)
    assert [v["id"] for v in api.get(VERSIONS, {"is_active": "true"}).json()["results"]] == [old.pk]

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post(f"{VERSIONS}{new.pk}/activate/")
    assert response.status_code == 202 and len(queued) == 1
    job = response.json()
    assert (job["kind"], job["queue"], job["status"], job["model_version"]) == (
        "infer",
        "infer",
        "queued",
        new.pk,
    )
    assert response["Location"].endswith(f"/api/v1/jobs/{job['id']}/")
    assert list(ModelVersion.objects.filter(is_active=True)) == [new]
    assert api.get(f"{VERSIONS}{new.pk}/").json()["activated_at"] is not None


def test_proposals_of_the_active_version_most_uncertain_first(api_as, admin_user):
    old = trained_version(uf1=0.5, labelled_clips=10)
    active = trained_version(uf1=0.7, labelled_clips=25, active=True)
    calm, torn, unsure = ClipFactory.create_batch(3)
    propose(clip=calm, version=active, entropy=0.2, margin=0.8, bald=0.05)
    propose(clip=torn, version=active, entropy=1.0, margin=0.02, bald=0.1)
    propose(clip=unsure, version=active, entropy=0.7, margin=0.3, bald=0.4)
    stale = propose(clip=calm, version=old, entropy=0.9, margin=0.1, bald=0.3)
    api = api_as(admin_user)

    def clips(**query) -> list[int]:
        return [p["clip"] for p in api.get(PROPOSALS, query).json()["results"]]

    assert clips() == [torn.pk, unsure.pk, calm.pk]
    assert clips(ordering="margin") == [torn.pk, unsure.pk, calm.pk]
    assert clips(ordering="-bald") == [unsure.pk, torn.pk, calm.pk]
    assert clips(clip=calm.pk) == [calm.pk]
    assert clips(model_version=old.pk) == [calm.pk]

    row = api.get(PROPOSALS, {"clip": torn.pk}).json()["results"][0]
    assert "embedding" not in row
    assert row["probabilities"] == {"negative": 0.2, "positive": 0.5, "surprise": 0.3}
    assert row["predicted_class"] == "positive"
    # A version without an AU head proposes no AU.
    assert row["action_units"] == {}
    assert (row["onset"], row["apex"], row["offset"]) == tuple(
        torn.frame_indices[i] for i in (0, 5, 8)
    )
    # A proposal scored before intervals were proposed has no offset to report.
    Proposal.objects.filter(pk=stale.pk).update(offset=None)
    detail = api.get(f"{PROPOSALS}{stale.pk}/").json()
    assert detail["embedding"] == [0.25, -1.5, 3.0] and detail["model_version"] == old.pk
    assert detail["offset"] is None


def test_a_proposal_lists_the_au_heads_probabilities(api_as, admin_user):
    clip = ClipFactory()
    proposal = propose(
        clip=clip,
        version=trained_version(uf1=0.6, labelled_clips=12, active=True),
        entropy=0.5,
        margin=0.5,
        bald=0.1,
    )
    Proposal.objects.filter(pk=proposal.pk).update(
        action_units={"AU4": 0.81, "AU12": 0.07, "AU14": 0.55}
    )
    api = api_as(admin_user)
    listed = api.get(PROPOSALS, {"clip": clip.pk}).json()["results"][0]
    assert listed["action_units"] == {"AU4": 0.81, "AU12": 0.07, "AU14": 0.55}
    assert api.get(f"{PROPOSALS}{proposal.pk}/").json()["action_units"] == listed["action_units"]


def test_without_an_active_version_there_are_no_proposals_to_list(api_as, admin_user):
    propose(
        clip=ClipFactory(),
        version=trained_version(uf1=0.5, labelled_clips=10),
        entropy=0.5,
        margin=0.5,
        bald=0.5,
    )
    assert api_as(admin_user).get(PROPOSALS).json()["results"] == []


@pytest.mark.parametrize("role", ["coder", "reviewer"])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", RUNS),
        ("post", RUNS),
        ("get", RUNS + "{run}/"),
        ("post", RUNS + "{run}/cancel/"),
        ("post", RUNS + "{run}/retry/"),
        ("get", VERSIONS),
        ("post", VERSIONS + "{version}/activate/"),
        ("get", PROPOSALS),
        ("get", PROPOSALS + "{proposal}/"),
    ],
)
def test_only_admins_train_activate_and_read_proposals(api_as, role, method, url):
    version = trained_version(uf1=0.5, labelled_clips=10)
    proposal = propose(clip=ClipFactory(), version=version, entropy=0.5, margin=0.5, bald=0.5)
    api = api_as(UserFactory(username=f"a-{role}", role=role))
    target = url.format(run=version.training_run_id, version=version.pk, proposal=proposal.pk)
    response = getattr(api, method)(target, {"model_name": "flow_linear"}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {"field": None, "code": "permission_denied", "message": "Your role does not allow this."}
    ]
    assert not JobRun.objects.exists() and TrainingRun.objects.count() == 1
    assert not ModelVersion.objects.filter(is_active=True).exists()


@pytest.mark.parametrize("url", [RUNS, VERSIONS, PROPOSALS, "/api/v1/imports/", "/api/v1/exports/"])
def test_anonymous_requests_to_the_new_resources_are_told_to_authenticate(api_as, url):
    for method in ("get", "post"):
        response = getattr(api_as(None), method)(url)
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "not_authenticated"
