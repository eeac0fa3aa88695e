"""Which annotations a composite export (and a training snapshot, which is one) takes, and
which clips it leaves out and why: read only, so the training form can show it before a run
starts and the export worker writes exactly that."""

from collections import Counter
from dataclasses import dataclass

from django.utils.text import slugify

from annotator.corpus import selectors as corpus_selectors
from annotator.errors import InvalidRequestError
from annotator.models import Annotation, Clip, Dataset
from mlcore.composite import CompositeSample
from mlcore.datasets.megc import megc2019_omission, megc_clip, megc_subject, natural_key
from mlcore.facs import format_au_string
from mlcore.labels import EXCLUDED, CompositeClass, composite_label, megc2019_class

MEGC_DATASETS = ("casme2", "samm", "smic")
# Characters the ground-truth CSV or the per-clip folders cannot hold.
_UNWRITABLE = frozenset(',"/\\\r\n')


@dataclass(frozen=True, slots=True)
class CompositeSelection:
    keys: dict[str, Dataset]  # export key (casme2, samm, smic, or a slug) -> dataset
    samples: list[tuple[Clip, Annotation, CompositeSample]]  # sorted as the manifest is
    left_out: list[dict[str, str]]  # dataset, subject, clip, reason
    rule_report: dict[str, list[dict[str, str]]]  # with megc2019: added, omitted, relabelled

    def counts(self) -> dict[str, dict]:
        """Clips per class, per dataset and class, and per subject (``dataset/subject``)."""
        per_dataset: dict[str, Counter] = {}
        for _, _, sample in self.samples:
            per_dataset.setdefault(sample.dataset, Counter())[sample.label] += 1
        per_class = Counter(sample.label for _, _, sample in self.samples)
        return {
            "per_class": {label.name.lower(): per_class[label] for label in CompositeClass},
            "per_dataset": {
                key: {label.name.lower(): counter[label] for label in CompositeClass}
                for key, counter in sorted(per_dataset.items())
            },
            "per_subject": dict(
                sorted(Counter(sample.subject_key for _, _, sample in self.samples).items())
            ),
        }


def composite_selection(
    *,
    datasets: list[Dataset] | None,
    min_status: str,
    megc2019: bool = False,
    crop_size: int = 112,
) -> CompositeSelection:
    """The clips an export of ``datasets`` (default all) writes, with their labels, and the
    ones it leaves out with the reason; see `exports.composite_export_run`."""
    datasets = sorted(datasets if datasets is not None else Dataset.objects.all(), key=str)
    keys: dict[str, Dataset] = {}
    for dataset in datasets:
        key = export_key(dataset)
        if key in keys:
            raise InvalidRequestError(
                f"Datasets {keys[key].name!r} and {dataset.name!r} would both export as {key!r}; "
                "export them separately."
            )
        keys[key] = dataset
    chosen, not_annotated = _chosen_annotations(datasets=datasets, min_status=min_status)
    layer = f"aligned-{crop_size}"
    left_out = [
        {"dataset": c.subject.dataset.name, "subject": c.subject.code, "clip": c.name, "reason": r}
        for c, r in not_annotated
    ]
    samples: list[tuple[Clip, Annotation, CompositeSample]] = []
    rule_report: dict[str, list[dict[str, str]]] = {"added": [], "omitted": [], "relabelled": []}
    for clip, annotation in chosen:
        key = export_key(clip.subject.dataset)
        emotion = annotation.emotion
        where = {
            "dataset": clip.subject.dataset.name,
            "subject": clip.subject.code,
            "clip": clip.name,
        }
        mapped = emotion.composite_class if emotion else EXCLUDED
        composite_class, reason = mapped, None
        if megc2019:
            composite_class, reason = _megc2019_verdict(
                key=key, annotation=annotation, mapped=mapped, where=where, report=rule_report
            )
        elif mapped == EXCLUDED:
            reason = f"emotion {emotion.name if emotion else None!r} is excluded from the composite"
        if reason is None:
            reason = _unexportable(clip=clip, annotation=annotation, layer=layer)
        if reason is not None:
            left_out.append({**where, "reason": reason})
            continue
        subject = megc_subject(dataset=key, subject=clip.subject.code)
        name = megc_clip(dataset=key, subject=clip.subject.code, clip=clip.name)
        sample = CompositeSample(
            dataset=key,
            subject=subject,
            clip=name,
            label=int(composite_label(composite_class)),
            emotion=emotion.name,
            onset=annotation.onset,
            apex=annotation.apex,
            offset=annotation.offset,
            aus=format_au_string(annotation.au_entries),
            fps=float(clip.fps),
            frames_dir=f"{key}/{subject}/{name}",
        )
        samples.append((clip, annotation, sample))
    samples.sort(key=lambda item: (item[2].dataset, natural_key(item[2].subject), item[2].clip))
    return CompositeSelection(
        keys=keys, samples=samples, left_out=left_out, rule_report=rule_report
    )


def export_key(dataset: Dataset) -> str:
    return (
        dataset.source_format if dataset.source_format in MEGC_DATASETS else slugify(dataset.name)
    )


def _chosen_annotations(*, datasets: list[Dataset], min_status: str) -> tuple[list, list]:
    """One annotation per clip (the adjudicated one; with ``submitted``, else the single
    submitted one) and the clips left out, with why."""
    clips = (
        Clip.objects.filter(subject__dataset__in=datasets)
        .select_related("subject__dataset")
        .order_by("subject__dataset__name", "subject__code", "name")
    )
    annotations: dict[int, list[Annotation]] = {}
    for annotation in (
        Annotation.objects.filter(clip__in=clips)
        .exclude(status=Annotation.Status.DRAFT)
        .select_related("emotion")
        .order_by("pk")
    ):
        annotations.setdefault(annotation.clip_id, []).append(annotation)
    chosen, left_out = [], []
    for clip in clips:
        own = annotations.get(clip.pk, [])
        final = [a for a in own if a.status == Annotation.Status.ADJUDICATED]
        submitted = [a for a in own if a.status == Annotation.Status.SUBMITTED]
        if final:
            chosen.append((clip, final[0]))
        elif min_status == "submitted" and len(submitted) == 1:
            chosen.append((clip, submitted[0]))
        else:
            reason = (
                "several submitted annotations and no adjudication"
                if min_status == "submitted" and submitted
                else f"no {min_status} annotation"
            )
            left_out.append((clip, reason))
    return chosen, left_out


def _megc2019_verdict(
    *,
    key: str,
    annotation: Annotation,
    mapped: str,
    where: dict[str, str],
    report: dict[str, list[dict[str, str]]],
) -> tuple[str, str | None]:
    """(class, why left out or None) of a clip in MEGC2019's official list; what differs from
    the dataset's mapping (``mapped``) goes into ``report``."""
    name = annotation.emotion.name if annotation.emotion else ""
    omission = megc2019_omission(
        dataset=key, emotion=name, onset=annotation.onset, apex=annotation.apex
    )
    if omission is not None:
        if mapped != EXCLUDED:
            report["omitted"].append({**where, "reason": omission})
        return EXCLUDED, omission
    official = megc2019_class(name, source_format=key)
    if mapped == EXCLUDED:
        reason = f"megc2019 counts {name!r} as {official}; this dataset's mapping excludes it"
        report["added"].append({**where, "reason": reason})
    elif mapped != official:
        reason = f"megc2019 counts {name!r} as {official}; this dataset's mapping says {mapped}"
        report["relabelled"].append({**where, "reason": reason})
    return official, None


def _unexportable(*, clip: Clip, annotation: Annotation, layer: str) -> str | None:
    """Why a clip the composite takes cannot be written, or None."""
    if annotation.onset is None or annotation.offset is None:
        return "no onset or offset"
    if clip.ingest_status != Clip.IngestStatus.READY or layer not in (
        corpus_selectors.clip_media_layers(clip=clip)
    ):
        return f"not preprocessed ({clip.ingest_status}, no {layer} crops)"
    if any(char in f"{clip.subject.code}{clip.name}" for char in _UNWRITABLE):
        return "subject or clip name holds a comma, quote, slash or line break"
    return None
