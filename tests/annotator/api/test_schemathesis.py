"""Schemathesis fuzzes every operation of the published schema against a live server, once per
role (coder, reviewer, admin): no answer may be a 5xx, and every answer must match the schema
(status code, content type, headers and body). Token endpoints are left out: fuzzing them would
revoke the token the run authenticates with; test_tokens_and_errors.py covers them."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMATHESIS = Path(sys.executable).with_name("st")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = 8


@pytest.fixture
def populated(ready_clip):
    """Rows for the fuzzer to find: a preprocessed clip, drafts, submitted and final codings,
    a finished and a failed training run, the active model version and its proposal."""
    from annotator.accounts.tokens import token_create
    from annotator.models import (
        Annotation,
        DatasetEmotion,
        JobRun,
        ModelVersion,
        Proposal,
        TrainingRun,
    )
    from tests.factories import AnnotationFactory, ClipFactory, UserFactory

    clip = ready_clip(frames=4)
    coder = UserFactory(username="coder1", role="coder")
    UserFactory(username="coder2", role="coder")
    reviewer = UserFactory(username="rita", role="reviewer")
    admin = UserFactory(username="boss", role="admin")
    happiness = DatasetEmotion.objects.get(dataset=clip.subject.dataset, name="happiness")
    AnnotationFactory(clip=clip, coder=coder)
    for other in ClipFactory.create_batch(2, subject__dataset=clip.subject.dataset):
        for who in (coder, reviewer):
            AnnotationFactory(
                clip=other,
                coder=who,
                status=Annotation.Status.SUBMITTED,
                onset=50,
                apex=55,
                offset=60,
                emotion=happiness,
                action_units=[{"au": 12, "laterality": "R", "intensity": "B"}],
            )
    finished, failed = (
        TrainingRun.objects.create(selection_key=str(clip.subject.dataset_id), model_name=name)
        for name in ("flow_linear", "ststnet")
    )
    JobRun.objects.create(kind="train", queue="train", training_run=failed, status="failed")
    version = ModelVersion.objects.create(
        training_run=finished,
        model_name="flow_linear",
        labelled_clips=2,
        checkpoint=f"training/{finished.pk}/run/final.pt",
        checkpoint_sha256="0" * 64,
        is_active=True,
    )
    Proposal.objects.create(
        clip=clip,
        model_version=version,
        onset=clip.frame_indices[0],
        apex=clip.frame_indices[1],
        apex_confidence=0.6,
        probabilities={"negative": 0.3, "positive": 0.3, "surprise": 0.4},
        predicted_class="surprise",
        entropy=1.08,
        margin=0.1,
        bald=0.02,
        embedding=[0.1, 0.2],
    )
    return {user.username: token_create(user=user).key for user in (coder, reviewer, admin)}


def schemathesis_run(*, schema_url: str, token: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(SCHEMATHESIS),
            "run",
            schema_url,
            "--checks",
            CHECKS,
            "--header",
            f"Authorization: Token {token}",
            "--exclude-path-regex",
            "^/api/v1/(tokens|auth)/",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "8",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--generation-database",
            "none",
            "--suppress-health-check",
            "all",
            "--no-color",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_every_operation_conforms_to_the_schema_for_every_role(live_server, populated):
    # The three roles run side by side: each mostly waits on the server.
    runs = {
        username: schemathesis_run(schema_url=f"{live_server.url}/api/schema/", token=key)
        for username, key in populated.items()
    }
    failures = []
    for username, run in runs.items():
        output, _ = run.communicate(timeout=400)
        if run.returncode != 0:
            failures.append(f"--- as {username} (exit {run.returncode}) ---\n{output[-8000:]}")
    assert not failures, "\n".join(failures)
