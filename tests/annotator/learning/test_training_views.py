"""The training page: retrain, follow, cancel and retry runs, read a run's scores and figures,
activate model versions and set the queue's order. Admins only."""

import re

import pytest
from django.urls import reverse

from annotator.jobs import services as jobs
from annotator.learning import services as learning
from annotator.models import JobRun, ModelVersion, QueueSettings, TrainingRun
from mlcore.facs import AU_HEAD_UNITS
from tests.annotator.support.training_runs import (
    start_form,
    training_run_frozen,
    training_run_trained,
)
from tests.factories import trainable_dataset
from tests.mlcore.training_fixtures import TINY_FRL_DGT

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def queued_run(admin_user):
    return learning.training_run_start(
        datasets=[trainable_dataset(name="CASME II")], model_name="frl_dgt", created_by=admin_user
    )


@pytest.fixture
def trained_run(admin_user):
    return training_run_trained(
        datasets=[trainable_dataset(name="SAMM", source_format="samm")], created_by=admin_user
    )


def test_only_training_admins_may_open_any_training_url(client, coder, queued_run):
    version = ModelVersion.objects.create(
        training_run=queued_run, model_name="frl_dgt", checkpoint="x.pt", checkpoint_sha256="0"
    )
    run = queued_run.pk
    urls = [
        ("get", reverse("training")),
        ("post", reverse("training")),
        ("post", reverse("training-queue-settings")),
        ("get", reverse("training-run-detail", args=[run])),
        ("get", reverse("training-run-status", args=[run])),
        ("post", reverse("training-run-cancel", args=[run])),
        ("post", reverse("training-run-retry", args=[run])),
        ("get", reverse("training-run-plot", args=[run, "confusion"])),
        ("get", reverse("model-versions")),
        ("post", reverse("model-version-activate", args=[version.pk])),
        ("get", reverse("model-version-plot", args=["history"])),
    ]
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 302, url  # to the login page
    client.force_login(coder)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 403, url
    assert "Training" not in client.get(reverse("home")).content.decode()
    assert JobRun.objects.filter(status=JobRun.Status.QUEUED).count() == 1
    assert not ModelVersion.objects.filter(is_active=True).exists()


def test_admin_starts_a_run_from_the_page_and_sees_it_queued(
    admin_client, django_capture_on_commit_callbacks
):
    casme, samm = (
        trainable_dataset(name="CASME II"),
        trainable_dataset(name="SAMM", source_format="samm"),
    )
    page = admin_client.get(reverse("home")).content.decode()
    assert f'href="{reverse("training")}"' in page
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = admin_client.post(reverse("training"), start_form(datasets=[casme.pk, samm.pk]))
    assert response.status_code == 302
    training_run = TrainingRun.objects.get()
    assert set(training_run.datasets.all()) == {casme, samm}
    assert (training_run.model_name, training_run.epochs, training_run.seed) == (
        "flow_linear",
        3,
        7,
    )
    job_run = training_run.job_runs.get()
    assert (job_run.kind, job_run.queue, job_run.status) == ("train", "train", "queued")
    assert len(enqueued) == 1

    page = admin_client.get(reverse("training")).content.decode()
    assert f"{training_run} queued." in page
    card = re.search(rf'<article[^>]*id="training-run-{training_run.pk}".*?</article>', page, re.S)
    assert card and "Queued" in card.group(0) and "<progress" in card.group(0)
    assert 'hx-trigger="every 1s"' in card.group(0) and ">Cancel</button>" in card.group(0)


def test_a_second_run_on_a_busy_selection_is_refused_with_the_reason(admin_client, queued_run):
    dataset = queued_run.datasets.get()
    response = admin_client.post(reverse("training"), start_form(datasets=[dataset.pk]))
    assert response.status_code == 400
    assert "already queued or running" in response.content.decode()
    assert TrainingRun.objects.count() == 1


def test_the_form_names_what_is_missing(admin_client):
    response = admin_client.post(reverse("training"), start_form(epochs="0"))
    assert response.status_code == 400
    errors = response.context["start_form"].errors
    assert set(errors) == {"datasets", "epochs"}
    assert not TrainingRun.objects.exists()


def test_progress_partial_polls_until_the_attempt_finishes(admin_client, queued_run):
    url = reverse("training-run-status", args=[queued_run.pk])
    job_run = queued_run.job_runs.get()
    job_run = jobs.job_run_claim(job_run_id=job_run.pk)
    jobs.job_run_report_progress(job_run=job_run, progress=0.42, message="fold 2/3, epoch 1/3")
    response = admin_client.get(url, HTTP_HX_REQUEST="true")
    partial = response.content.decode()
    assert 'value="0.42"' in partial and "fold 2/3, epoch 1/3" in partial
    assert 'hx-trigger="every 1s"' in partial and "HX-Trigger" not in response.headers

    jobs.job_run_fail(job_run=job_run, error="ValueError: no clip with an apex")
    response = admin_client.get(url, HTTP_HX_REQUEST="true")
    partial = response.content.decode()
    assert "Failed" in partial and "no clip with an apex" in partial
    assert "every 1s" not in partial and ">Retry (resume)</button>" in partial
    assert response.headers["HX-Trigger"] == "training-run-finished"
    # Opened as a page, the status URL leads to the run.
    assert admin_client.get(url)["Location"] == reverse("training-run-detail", args=[queued_run.pk])


def test_cancel_then_retry_from_the_buttons(
    admin_client, queued_run, django_capture_on_commit_callbacks
):
    cancel = reverse("training-run-cancel", args=[queued_run.pk])
    retry = reverse("training-run-retry", args=[queued_run.pk])
    partial = admin_client.post(cancel, HTTP_HX_REQUEST="true").content.decode()
    assert "Cancelled" in partial and ">Retry (resume)</button>" in partial
    assert queued_run.job_runs.get().status == JobRun.Status.CANCELLED

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        partial = admin_client.post(retry, HTTP_HX_REQUEST="true").content.decode()
    assert "Queued" in partial and "attempt 2" in partial and ">Cancel</button>" in partial
    assert len(enqueued) == 1
    assert [j.status for j in queued_run.job_runs.order_by("pk")] == ["cancelled", "queued"]

    partial = admin_client.post(retry, HTTP_HX_REQUEST="true").content.decode()
    assert "still queued or running" in partial
    assert queued_run.job_runs.count() == 2

    # Without htmx the buttons are plain forms: back to the page, with the outcome.
    response = admin_client.post(cancel, follow=True)
    assert f"{queued_run} cancelled." in response.content.decode()
    response = admin_client.post(cancel, follow=True)
    assert "Nothing to cancel" in response.content.decode()


def test_detail_page_shows_the_scores_and_figures_of_a_real_run(admin_client, trained_run):
    metrics = trained_run.metrics
    response = admin_client.get(reverse("training-run-detail", args=[trained_run.pk]))
    page = response.content.decode()
    full = metrics["pooled"]["full"]
    pooled = re.search(r'id="pooled-scores".*?</table>', page, re.S).group(0)
    assert f"{full['uf1']:.3f}" in pooled and f"{full['uar']:.3f}" in pooled
    assert "<td>casme2</td>" in pooled and "<td>samm</td>" in pooled
    per_fold = re.search(r'id="per-fold".*?</table>', page, re.S).group(0)
    assert per_fold.count("<tr>") == 1 + metrics["n_folds"] == 4
    for fold in metrics["per_fold"]:
        assert f"<td>{fold['name']}</td>" in per_fold
    confusion = re.search(r'id="confusion-matrix".*?</table>', page, re.S).group(0)
    assert sum(sum(row) for row in metrics["confusion_matrix"]) == 9
    assert "<th>surprise</th>" in confusion
    assert "9 clips of 3 subjects" in page  # the snapshot
    assert metrics["apex_policy"] == "propose"
    assert "Clips without an apex: the model proposes one (default)." in page
    assert "→ v" in page and "Succeeded" in page

    for name in ("confusion", "per_fold", "losses"):
        url = reverse("training-run-plot", args=[trained_run.pk, name])
        assert url in page
        response = admin_client.get(url)
        assert response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content).startswith(PNG_SIGNATURE)
    assert (
        admin_client.get(reverse("training-run-plot", args=[trained_run.pk, "run"])).status_code
        == 404
    )

    partial = admin_client.get(
        reverse("training-run-detail", args=[trained_run.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert partial.startswith('<section class="card" id="run-report"') and "<h1>" not in partial
    # A model without an AU head has no AU scores to show.
    assert "au" not in metrics and 'id="per-au-f1"' not in page
    au_plot = reverse("training-run-plot", args=[trained_run.pk, "au_f1"])
    assert au_plot not in page and admin_client.get(au_plot).status_code == 404


# The blob clips' AUs follow their class, as in mlcore's AU head tests.
BLOB_AUS = {0: "4+L10", 1: "R12B", 2: "1+2"}


def test_a_run_with_the_au_head_shows_the_f1_of_each_au_as_a_chart_and_a_table(
    admin_client, admin_user
):
    run = training_run_trained(
        datasets=[trainable_dataset(name="CASME II")],
        created_by=admin_user,
        model_name="frl_dgt",
        model_options=TINY_FRL_DGT,
        au_coded=BLOB_AUS,
    )
    per_au = run.metrics["au"]["per_au"]
    page = admin_client.get(reverse("training-run-detail", args=[run.pk])).content.decode()
    assert "pooled over the folds' 9 test clips coded with AUs" in page
    trained_with = re.search(r"<th>Trained with</th><td><code>(.*?)</code>", page).group(1)
    assert "&#x27;au_head&#x27;: True" in trained_with  # resolved on the AU-coded clips
    table = re.search(r'id="per-au-f1".*?</table>', page, re.S).group(0)
    rows = re.findall(
        r'<tr><td title="([^"]*)">(AU\d+)</td><td>([^<]*)</td><td>(\d+)</td><td>(\d+)</td></tr>',
        table,
    )
    assert [au for _, au, *_ in rows] == [f"AU{unit}" for unit in AU_HEAD_UNITS]  # head order
    shown = {au: (name, f1, int(coded), int(proposed)) for name, au, f1, coded, proposed in rows}
    assert shown["AU12"][0] == "Lip corner puller"
    # Each coded AU is on the 3 test clips of its class (one per subject), the others on none.
    assert {au for au, row in shown.items() if row[2]} == {"AU1", "AU2", "AU4", "AU10", "AU12"}
    assert all(row[2] in (0, 3) for row in shown.values())
    for au, (_, f1, coded, proposed) in shown.items():
        scores = per_au[au]
        assert (coded, proposed) == (scores["support"], scores["predicted"])
        assert f1 == ("—" if scores["f1"] is None else f"{scores['f1']:.3f}")

    url = reverse("training-run-plot", args=[run.pk, "au_f1"])
    assert f'src="{url}"' in page
    response = admin_client.get(url)
    assert response["Content-Type"] == "image/png" and response.content.startswith(PNG_SIGNATURE)


def test_versions_compare_and_one_is_activated_from_the_page(
    admin_client, trained_run, django_capture_on_commit_callbacks
):
    version = trained_run.model_version
    page = admin_client.get(reverse("training")).content.decode()
    row = re.search(rf'<tr id="model-version-{version.pk}".*?</tr>', page, re.S).group(0)
    assert f"{version.metrics['pooled']['full']['uf1']:.3f}" in row
    assert version.checkpoint_sha256[:12] in row and ">Activate</button>" in row
    assert "<td>9</td>" in row  # labelled clips
    for name in ("history", "learning-curve"):
        assert reverse("model-version-plot", args=[name]) in page
        response = admin_client.get(reverse("model-version-plot", args=[name]))
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(PNG_SIGNATURE)
    assert admin_client.get(reverse("model-version-plot", args=["weights"])).status_code == 404

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = admin_client.post(
            reverse("model-version-activate", args=[version.pk]), HTTP_HX_REQUEST="true"
        )
    partial = response.content.decode()
    assert "<strong>Active</strong>" in partial and "Infer #" in partial
    version.refresh_from_db()
    assert version.is_active
    infer = JobRun.objects.get(kind=JobRun.Kind.INFER)
    assert (infer.model_version, infer.queue, infer.status) == (version, "infer", "queued")
    assert len(enqueued) == 1


def test_without_versions_the_page_says_so_and_draws_nothing(admin_client):
    page = admin_client.get(reverse("training")).content.decode()
    assert "No model version yet" in page and "No training run yet" in page
    assert reverse("model-version-plot", args=["history"]) not in page
    assert admin_client.get(reverse("model-version-plot", args=["history"])).status_code == 404


def test_queue_settings_are_saved_and_bad_values_refused(admin_client):
    url = reverse("training-queue-settings")
    form = {"strategy": "diversity", "diversity_weight": "0.8", "subject_cap": "2"}
    response = admin_client.post(url, form, follow=True)
    assert "Queue order saved: Uncertainty plus diversity." in response.content.decode()
    row = QueueSettings.objects.get()
    assert (row.strategy, row.diversity_weight, row.subject_cap) == ("diversity", 0.8, 2)

    response = admin_client.post(url, {**form, "strategy": "random", "subject_cap": "0"})
    assert response.status_code == 400
    assert "subject_cap" in response.context["queue_form"].errors
    assert QueueSettings.objects.get().strategy == "diversity"


@pytest.fixture
def cancelled_frozen_run(transactional_db, admin_user) -> TrainingRun:
    """Frozen before the worker starts (fixtures are set up in the order the test names them),
    its first attempt cancelled: only the retry the test clicks trains. 400 epochs keep it
    training for several seconds, so the page's 1 s polling sees it in progress (30 epochs once
    finished between two polls)."""
    training_run = training_run_frozen(
        datasets=[trainable_dataset(name="SAMM", source_format="samm")],
        created_by=admin_user,
        epochs=400,
    )
    learning.training_run_cancel(training_run=training_run)
    return training_run


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_retry_trains_on_the_worker_while_the_page_follows_it(
    cancelled_frozen_run, celery_worker_process, live_server, page, log_in, admin_user
):
    log_in(page, username=admin_user.username)
    page.get_by_role("navigation").get_by_role("link", name="Training").click()
    card = page.locator(f"#training-run-{cancelled_frozen_run.pk}")
    card.locator(".status", has_text="Cancelled").wait_for()
    # Every progress value the polling swaps in, and a marker a page reload would lose.
    page.evaluate(
        """() => {
          window.progressSeen = [];
          window.notReloaded = true;
          new MutationObserver(() => {
            const bar = document.querySelector('#training-runs progress');
            if (bar) window.progressSeen.push(bar.value);
          }).observe(document.querySelector('#training-runs'), {childList: true, subtree: true});
        }"""
    )
    card.get_by_role("button", name="Retry (resume)").click()
    card.locator(".status", has_text="Succeeded").wait_for(timeout=120_000)

    seen = page.evaluate("window.progressSeen")
    assert any(0 < value < 1 for value in seen), seen
    assert seen[-1] == 1
    assert "UF1" in card.locator(".message").inner_text()
    # The finished run brings its model version into the page without a reload.
    versions = page.locator("#model-versions")
    versions.get_by_role("button", name="Activate").click()
    versions.get_by_text("Active", exact=True).wait_for()
    versions.locator(".job-run .message", has_text="0 clips scored").wait_for(timeout=60_000)
    assert page.evaluate("window.notReloaded")
    version = ModelVersion.objects.get(is_active=True)
    assert version.training_run == cancelled_frozen_run
