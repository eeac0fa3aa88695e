"""The one family of errors a service raises when it refuses what a user asked for.

Every refusal carries a message meant for the user, a machine-readable `code` and, where one
input is to blame, its `field`. Each door maps the family once: the API's exception handler
(`annotator.api.errors`: 400, 409 or 503 with the error body), the pages' middleware
(`annotator.middleware`: a page with the message and the same status), the management commands
(`annotator.management.base`: a CommandError), and the job runner (`annotator.tasks`: the job
fails with the message). A view catches the user's kinds (InvalidRequestError, ConflictError)
only where it shows that refusal in place (a form's errors beside its fields, the autosave's
merge status), and leaves the queue's outage to the middleware's page. No view re-labels
ValueError, which stays what it is in Python: a bug, or bad input to mlcore (Django-free).

Field-level validation stays Django's ValidationError (forms and `full_clean` speak it); the
API maps it to 400 beside this family.
"""

from annotator.models import JobRun


class ApplicationError(Exception):
    """The family's root: what every door maps. Raise one of its kinds below."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field


class InvalidRequestError(ApplicationError):
    """The request is wrong in context (an unknown model, a path outside the import roots, a
    selection that cannot be evaluated): 400."""


class ConflictError(ApplicationError):
    """The request is well formed but the state of what it acts on forbids it: 409."""

    status_code = 409
    default_code = "conflict"


class StaleRevisionError(ConflictError):
    """The row changed since the client read it; saving would overwrite someone else's work."""

    default_code = "stale_revision"

    def __init__(self, *, current_revision: int) -> None:
        super().__init__(
            "This annotation was changed by someone else (now at revision "
            f"{current_revision}). Reload to see their changes; your edits were not saved.",
            field="revision",
        )
        self.current_revision = current_revision


class ClaimError(ConflictError):
    """The clip's state forbids starting or releasing this claim: the coder submitted it
    already, it was adjudicated, its coding plan has all the coders it asks for, or the draft
    to release holds edits the coder did not agree to discard."""


class TrainingBusyError(ConflictError):
    """Another attempt on the same datasets (or of the same run) is queued or running."""

    default_code = "training_busy"


class TrainingSelectionError(InvalidRequestError):
    """The chosen annotations cannot be evaluated subject by subject."""


class JobQueueUnreachableError(ApplicationError):
    """The broker refused a job's message. The job has been marked failed (and its clip, for a
    preprocessing), so the same action can simply be tried again once the broker is back: 503."""

    status_code = 503
    default_code = "queue_unreachable"
    # Seconds a client should wait before trying again (the Retry-After header).
    retry_after_seconds = 30

    def __init__(self, *, job_run: JobRun) -> None:
        super().__init__(
            f"The job queue is unreachable, so {job_run.get_kind_display().lower()} job "
            f"#{job_run.pk} could not be started; it is marked failed. Try again in a minute; "
            "if this persists, the broker (CELERY_BROKER_URL) is down."
        )
        self.job_run = job_run
