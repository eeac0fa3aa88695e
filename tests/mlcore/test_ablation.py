"""The ablation compares like with like: same clips, same frames, one resolution; and its two
flow floors are computed."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mlcore.cli import build_parser
from mlcore.composite import read_manifest
from mlcore.models import create_model
from mlcore.motion import remove_affine_motion, tvl1_flow
from mlcore.training.ablation import run_ablation
from mlcore.training.data import InputCache, load_frame
from mlcore.training.run import DEFAULT_APEX_POLICY
from tests.mlcore.training_fixtures import TINY_FRL_DGT, make_blob_composite

torch.set_num_threads(2)

ROWS = ["M0", "M1", "M2", "M9", "STSTNet", "Flow+linear", "Flow-affine+linear"]
TINY = {key: value for key, value in TINY_FRL_DGT.items() if key != "image_size"}


@pytest.fixture(scope="module")
def ablation(tmp_path_factory) -> tuple[Path, Path, dict]:
    data = tmp_path_factory.mktemp("composite")
    make_blob_composite(data, subjects={"casme2": 2, "samm": 1}, clips_per_class=2, size=40)
    out = tmp_path_factory.mktemp("ablation")
    result = run_ablation(
        data_dir=data,
        out_dir=out,
        image_size=32,
        protocol="kfold",
        k_folds=2,
        epochs=1,
        frl_dgt_options=TINY,
        only=ROWS,
    )
    return data, out, json.loads(result.json_path.read_text())


def _test_clips(run_dir: Path) -> list[list[str]]:
    folds = sorted((run_dir / "folds").glob("fold_*.json"))
    return [json.loads(path.read_text())["test_clips"] for path in folds]


def test_every_row_sees_the_same_clips_and_frames_at_one_resolution(ablation) -> None:
    data, out, table = ablation
    rows = {row["id"]: row for row in table["rows"]}
    assert list(rows) == ROWS and table["settings"]["image_size"] == 32
    # The crops are 40 px; every row's frames are resized to 32 px before anything is computed.
    assert {row["input"]["frame_size"] for row in rows.values()} == {32}
    assert [rows[i]["input"]["size"] for i in ("M0", "M1", "M2", "M9")] == [32] * 4
    assert rows["STSTNet"]["input"]["size"] == 28  # its network input, resized from 32 px flow
    folds = {row_id: _test_clips(out / row["model"]) for row_id, row in rows.items()}
    assert all(clips == folds["M9"] for clips in folds.values())

    # M0's flow is TV-L1 of the same onset and apex frames the DGM of M9 gets, at 32 px.
    sample = read_manifest(data)[0]
    onset, apex = (
        load_frame(sample.frame_path(data, frame), size=32, channels=1)
        for frame in (sample.onset, sample.apex)
    )
    cache = InputCache(out / "input_cache")
    m0 = create_model("frl_dgt_m0", **rows["M0"]["model_options"]).input_spec
    m9 = create_model("frl_dgt_m9", **rows["M9"]["model_options"]).input_spec
    pair = np.load(cache.path(sample, sample.apex, m9))
    np.testing.assert_array_equal(pair, np.stack([onset, apex]).astype(np.float32) / 255)
    flow = np.load(cache.path(sample, sample.apex, m0))
    assert flow.shape == (3, 32, 32)
    np.testing.assert_allclose(flow[:2], np.moveaxis(tvl1_flow(onset, apex), -1, 0), atol=1e-5)


def test_both_flow_floors_are_trained_and_scored(ablation) -> None:
    data, out, table = ablation
    rows = {row["id"]: row for row in table["rows"]}
    raw, compensated = rows["Flow+linear"], rows["Flow-affine+linear"]
    assert raw["input"]["kind"] == "flow" and compensated["input"]["kind"] == "flow_affine"
    for row in (raw, compensated):
        assert row["n_folds"] == 2 and 0 <= row["scores"]["full"]["uf1"] <= 1
    markdown = (out / "ablation.md").read_text()
    assert "| Flow-affine+linear | floor: linear classifier on TV-L1 flow less" in markdown
    assert "frames at 32 px" in markdown

    # The compensated floor's input is the raw flow less its affine fit, at the same frames.
    sample = read_manifest(data)[0]
    cache = InputCache(out / "input_cache")
    specs = {
        row["model"]: create_model(row["model"], **row["model_options"]).input_spec
        for row in (raw, compensated)
    }
    assert specs["flow_linear"].frame_size == specs["flow_affine_linear"].frame_size == 32
    onset, apex = (
        load_frame(sample.frame_path(data, frame), size=32, channels=1)
        for frame in (sample.onset, sample.apex)
    )
    expected = remove_affine_motion(tvl1_flow(onset, apex))
    expected = cv2.resize(expected, (28, 28), interpolation=cv2.INTER_AREA) * (28 / 32)
    got = np.load(cache.path(sample, sample.apex, specs["flow_affine_linear"]))
    np.testing.assert_allclose(got[:2], np.moveaxis(expected, -1, 0), atol=1e-4)


def test_a_resolution_given_as_an_frl_dgt_option_is_refused_before_training(tmp_path) -> None:
    data = tmp_path / "data"
    make_blob_composite(data, subjects={"casme2": 2}, clips_per_class=1)
    with pytest.raises(ValueError, match="image_size"):
        run_ablation(
            data_dir=data,
            out_dir=tmp_path / "out",
            image_size=32,
            only=["STSTNet", "M9"],
            frl_dgt_options={**TINY, "image_size": 48},
        )
    assert not (tmp_path / "out").exists()


def test_the_ablation_treats_clips_without_apex_as_training_does(ablation) -> None:
    """Training proposes missing apexes by default; an ablation row must see the same clips."""
    _, out, table = ablation
    assert DEFAULT_APEX_POLICY == "propose"
    assert table["settings"]["apex_policy"] == "propose"
    assert "apex propose" in (out / "ablation.md").read_text()
    for command in (["ablate"], ["train", "--model", "flow_linear"]):
        args = build_parser().parse_args([*command, "--data", "d", "--out", "o"])
        assert args.apex_policy == "propose", command
