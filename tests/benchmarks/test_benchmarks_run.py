"""Every CPU benchmark in benchmarks/ runs end to end at toy size and writes the JSON whose
numbers docs/benchmarks.md quotes. The benchmarks import the platform and mlcore inside their
functions, so a moved module breaks them only when they run: this is where that shows.
The GPU script's LOSO path has its own check (tests/mlcore/test_gpu_benchmark.py). Not run here:
benchmarks/train.py, whose fixed smoke LOSO (four default FRL-DGT trainings, each with its DGM
warm-up) takes minutes on a CPU, and gpu_ablation.py (gpu.sh's kfold mode). No timing is
asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlcore.synth import generate

REPO = Path(__file__).resolve().parents[2]


def run_benchmark(script: str, *arguments: str, out: Path) -> dict:
    finished = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *arguments, "--out", str(out)],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def test_apex_reports_the_errors_with_and_without_blinks_and_the_interval(tmp_path):
    report = run_benchmark(
        "apex.py",
        *("--seeds", "0", "--tune-seed", "1", "--subjects", "1", "--clips-per-subject", "2"),
        out=tmp_path / "apex.json",
    )
    assert set(report["per_seed"]) == {"0"}
    assert set(report["summary"]) == {"apex", "interval"}
    assert 0.0 < report["fraction"] < 1.0


def test_preprocess_times_every_face_back_end_and_input_kind(tmp_path):
    report = run_benchmark(
        "preprocess.py",
        *("--frames", "6", "--repeats", "1", "--tvl1-pairs", "1"),
        out=tmp_path / "preprocess.json",
    )
    assert report["clip"]["frames"] == 6
    assert {key.split("/")[1] for key in report["preprocess"]} == {"jpg_folder", "mp4v_video"}
    assert set(report["tvl1_seconds_per_pair"]) == {"112", "224"}


def test_import_export_imports_every_clip_and_exports_the_composite(tmp_path):
    report = run_benchmark(
        "import_export.py",
        *("--subjects", "1", "--clips-per-subject", "2", "--frames", "8", "--size", "160", "120"),
        *("--composite-frames", "8", "--composite-subjects", "1"),
        out=tmp_path / "import_export.json",
    )
    imported, exported = report["import_casme2_scale"], report["export_composite_scale"]
    assert imported["clips"] == 2 and imported["frames"] == 16
    assert exported["clips"] == 6 and exported["subjects"] == 3
    assert exported["files_with_flows"] > exported["files_without_flows"]


def test_loop_times_a_retrain_the_proposals_and_the_next_clip(tmp_path):
    report = run_benchmark(
        "loop.py",
        *("--clips", "30", "--frames", "8", "--proposal-clips", "3", "--queue-clips", "12"),
        *("--calls", "5", "--epochs", "1"),
        out=tmp_path / "loop.json",
    )
    assert report["retrain_to_proposals"]["clips"] == 30
    assert report["proposals_throughput"]["clips_per_second"] > 0
    assert report["next_clip"]["coder_next_draft_claim"]["calls"] == 5


def test_retrain_cpu_runs_a_cold_and_a_warm_retrain_per_seed(tmp_path):
    report = run_benchmark(
        "retrain_cpu.py", "--seeds", "0", "--threads", "1", out=tmp_path / "retrain_cpu.json"
    )
    (round_,) = report["rounds"]
    assert set(round_) >= {"seed", "cold", "warm"}
    assert 0.0 <= report["cold_uf1"]["mean"] <= 1.0
    assert report["warm_wall_time_s"]["values"][0] > 0


def test_retrain_demo_trains_from_the_training_forms_defaults(tmp_path):
    report = run_benchmark(
        "retrain_demo.py", "--seeds", "0", "--threads", "1", out=tmp_path / "retrain_demo.json"
    )
    (run,) = report["runs"]
    assert report["clips"] == 6
    assert run["preset"] == "cpu" and 0.0 <= run["uf1"] <= 1.0


@pytest.mark.browser
def test_workbench_measures_the_step_latency_in_chromium(tmp_path):
    report = run_benchmark(
        "workbench.py", "--frames", "12", "--steps", "6", out=tmp_path / "workbench.json"
    )
    assert report["clip"]["frames"] == 12
    assert report["steps_measured"] == 6
    assert report["step_latency_ms_p95"] >= report["step_latency_ms_p50"] > 0


def test_api_load_reports_latency_and_no_errors(tmp_path):
    report = run_benchmark(
        "api.py",
        *("--clients", "2", "--seconds", "1", "--warmup", "0.5", "--think", "0.5"),
        *("--workers", "1", "--threads", "2"),
        out=tmp_path / "api.json",
    )
    for level in ("paced", "saturated"):
        assert report[level]["errors"] == 0, report[level]["first_errors"]
        assert report[level]["total_rps"] > 0


def test_m3_dgm_records_the_dgm_measurements_per_arm_and_seed(tmp_path):
    data = tmp_path / "clean"
    generate(out_dir=data, layout="composite", subjects=5, clips_per_subject=3, frames=12)
    report = run_benchmark(
        "m3_dgm.py",
        *("--data", str(data), "--seeds", "0", "--epochs", "1", "--arm", "baseline"),
        *("--trace-steps", "2", "--cache", str(tmp_path / "cache")),
        out=tmp_path / "m3_dgm.json",
    )
    (entry,) = report
    assert entry["arm"] == "baseline" and entry["seed"] == 0
