"""`benchmarks/gpu.sh`'s default, the 68-fold LOSO of M9, M0 and STSTNet, end to end at toy size
on a CPU (`GPU_SH_SMOKE=1`): what the next session with a GPU runs and reads back."""

import json
import os
import subprocess
import sys
from pathlib import Path

from mlcore.composite import read_manifest

REPO = Path(__file__).resolve().parents[2]


def test_the_smoke_run_reports_a_loso_of_three_rows_one_entry_per_held_out_subject(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    environment = {
        **os.environ,
        "GPU_SH_SMOKE": "1",
        "OUT": str(out),
        "GPU_SH_WORK": str(work),
        "PYTHON": sys.executable,
    }
    finished = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu.sh")],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]

    report = json.loads((out / "gpu_loso.json").read_text(encoding="utf-8"))
    subjects = sorted({s.subject_key for s in read_manifest(work / "smoke-loso" / "data-0")})
    assert len(subjects) == 6
    assert report["settings"]["protocol"] == "loso"
    assert report["settings"]["n_subjects"] == len(subjects)
    assert [row["id"] for row in report["rows"]] == ["M9", "STSTNet", "M0"]
    for row in report["rows"]:
        assert row["finished"] and row["folds_done"] == row["n_folds"] == len(subjects)
        assert row["failed"] == []
        assert sorted(fold["subject"] for fold in row["per_fold"]) == subjects
        assert sum(fold["n"] for fold in row["per_fold"]) == report["settings"]["n_clips"]
        pooled = row["pooled"]
        assert set(pooled) == {"full", "casme2", "samm", "smic"}
        assert pooled["full"]["n"] == report["settings"]["n_clips"]
        assert 0.0 <= pooled["full"]["uf1"] <= 1.0 and 0.0 <= pooled["full"]["uar"] <= 1.0
        for spread in (row["per_fold_uf1"], row["per_fold_uar"]):
            assert 0.0 <= spread["mean"] <= 1.0 and spread["sd"] >= 0.0
        # Two epochs per fold tell the warm-up from an epoch, so the 30-epoch time extrapolates.
        assert all(fold["epoch_s"] > 0 for fold in row["per_fold"])
        assert row["wall_s_at_30_epochs_extrapolated"] > 0
    assert report["common_folds"]["folds"] == list(range(len(subjects)))
    assert report["unfinished"] == []
    assert "M9" in (out / "gpu.log").read_text(encoding="utf-8")
