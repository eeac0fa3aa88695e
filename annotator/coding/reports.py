"""Renderings of agreement reports for people: a CSV with one row per pair of coders, and plots."""

import csv
import io
import math

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from annotator.coding.review import MARKS
from annotator.plotting import pyplot

CSV_COLUMNS = [
    "dataset",
    "subject",
    "clip",
    "coder_a",
    "coder_b",
    "emotion_a",
    "emotion_b",
    "emotion_match",
    "au_agreement",
    "au_laterality_agreement",
    "au_intensity_agreement",
    "aus_only_a",
    "aus_only_b",
    *(f"{mark}_diff_frames" for mark in MARKS),
    *(f"{mark}_diff_ms" for mark in MARKS),
]


def _optional(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def agreement_csv_response(*, report: dict) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    name = report["dataset"].name
    response["Content-Disposition"] = content_disposition_header(True, f"agreement-{name}.csv")
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for pair in report["pairs"]:
        first, second = pair["first"], pair["second"]
        marks = pair["marks"]
        writer.writerow(
            [
                report["dataset"].name,
                first.clip.subject.code,
                first.clip.name,
                first.coder.username,
                second.coder.username,
                first.emotion.name if first.emotion else "",
                second.emotion.name if second.emotion else "",
                int(pair["emotion_match"]),
                f"{pair['au_agreement']:.3f}",
                _optional(pair["au_laterality_agreement"]),
                _optional(pair["au_intensity_agreement"]),
                "+".join(pair["aus_only_first"]),
                "+".join(pair["aus_only_second"]),
                *(marks[m]["frames"] if marks[m] else "" for m in MARKS),
                *(f"{marks[m]['ms']:.1f}" if marks[m] else "" for m in MARKS),
            ]
        )
    return response


def agreement_plot_png(*, report: dict) -> bytes:
    """AU base rates beside the distribution of onset/apex/offset differences between coders."""
    plt = pyplot()
    figure, (rates_axis, marks_axis) = plt.subplots(1, 2, figsize=(11, 3.8), dpi=100)
    rates = report["au_base_rates"]
    if rates:
        rates_axis.bar([f"AU{n}" for n, _ in rates], [rate for _, rate in rates], color="#2463eb")
        rates_axis.tick_params(axis="x", rotation=60)
    rates_axis.set_title("AU base rate (share of submitted annotations)")
    rates_axis.set_ylim(0, 1)
    distances = [
        [abs(p["marks"][mark]["frames"]) for p in report["pairs"] if p["marks"][mark]]
        for mark in MARKS
    ]
    if any(distances):
        marks_axis.boxplot(
            [values or [math.nan] for values in distances], tick_labels=list(MARKS), showmeans=True
        )
    marks_axis.set_title("Absolute difference between coders (frames)")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
