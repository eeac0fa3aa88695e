"""The coder's "next clip": the best-ranked clip whose coding plan still has a place."""

from annotator.coding import selectors as coding_selectors
from annotator.coding import services as coding_services
from annotator.errors import ClaimError
from annotator.models import (
    Annotation,
)

# The best-ranked clip wins unless other coders took its last place meanwhile; the ones after it
# are only tried when several coders claim at the same instant.
CLAIM_CANDIDATES = 20


def coder_next_draft_claim(*, coder) -> Annotation | None:
    """The coder's draft on the next clip to code: their open draft, or else a new one on the
    best-ranked clip whose coding plan still has a place (`coding_services.clip_claim`). Its clip,
    subject, dataset and coder come loaded."""
    open_draft = coding_selectors.annotation_open_draft(coder=coder)
    if open_draft is not None:
        return open_draft  # already the coder's: nothing to claim or lock
    for candidate in coding_selectors.clip_queue_ranked(coder=coder, limit=CLAIM_CANDIDATES):
        try:
            draft = coding_services.clip_claim(clip=candidate, coder=coder)
        except ClaimError:
            continue  # another coder took its last place since the ranking was read
        draft.clip, draft.coder = candidate, coder
        return draft
    return None
