"""The pretraining recipes streaming WebDataset shards (data_source: shards)."""

import json
import os

import pytest

from summary_ssl.brains.wav2vec2 import W2V2Brain
from summary_ssl.dataio.librispeech import prepare_librispeech
from summary_ssl.dataio.prepare_utils import read_csv, write_csv
from summary_ssl.dataio.shards import write_shards
from tests.integration.pretrain_helpers import (
    Killed,
    checkpoint_every,
    kill_at,
    run_pretraining,
    run_s3l,
)
from tools.toy import TOY_CORPUS

DEV = str(TOY_CORPUS / "LibriSpeech" / "dev-clean")


def make_toy_shards(folder, rows=14, shard_hours=0.003):
    """Shards of the first ``rows`` utterances of the toy corpus's
    train-clean-100 (about 5 shards); returns (shard folder, their IDs)."""
    csv_dir = os.path.join(folder, "csv")
    prepare_librispeech(
        str(TOY_CORPUS / "LibriSpeech"),
        csv_dir,
        ["train-clean-100"],
        max_duration=8.0,
        progress=False,
    )
    kept = read_csv(os.path.join(csv_dir, "train-clean-100.csv"))[:rows]
    csv = os.path.join(csv_dir, "train.csv")
    kept = [dict(row, duration=float(row["duration"])) for row in kept]
    write_csv(csv, kept, list(kept[0]))
    out = os.path.join(folder, "shards")
    write_shards(csv, out, shard_hours=shard_hours, progress=False, workers=1)
    return out, sorted(row["ID"] for row in kept)


def shard_overrides(shard_folder):
    return dict(
        data_source="shards",
        shard_folder=shard_folder,
        valid_data_folder=DEV,
    )


@pytest.fixture(scope="module")
def toy_shards(tmp_path_factory):
    return make_toy_shards(str(tmp_path_factory.mktemp("toy_shards")))


@pytest.mark.parametrize("runner", [run_pretraining, run_s3l])
def test_recipes_train_two_epochs_from_shards_and_export(
    runner, toy_shards, tmp_path
):
    brain = runner(
        tmp_path,
        number_of_epochs=2,
        optimizer_step_limit=10000,
        num_workers=2,
        **shard_overrides(toy_shards[0]),
    )
    assert brain.hparams.epoch_counter.current == 2
    assert (tmp_path / "exported_encoder" / "wav2vec2.ckpt").is_file()
    log = (tmp_path / "train_log.txt").read_text()
    assert "epoch: 1" in log and "epoch: 2" in log
    assert not (tmp_path / "train.csv").exists()  # no manifest was built


def test_a_run_killed_mid_epoch_resumes_without_loss_or_repeat(
    toy_shards, tmp_path, monkeypatch
):
    shard_folder, all_ids = toy_shards
    settings = dict(
        number_of_epochs=1,
        optimizer_step_limit=10000,
        num_workers=2,
        **checkpoint_every(1),
        **shard_overrides(shard_folder),
    )
    seen = []
    original_fit = W2V2Brain.fit_batch

    def recording_fit(self, batch):
        seen.append((self.optimizer_step + 1, list(batch.id)))
        return original_fit(self, batch)

    monkeypatch.setattr(W2V2Brain, "fit_batch", recording_fit)
    original_end = kill_at(monkeypatch, W2V2Brain, 4)
    with pytest.raises(Killed):
        run_pretraining(tmp_path, **settings)
    # Step 4's batch ran but its checkpoint was never written: the resumed
    # run restarts after step 3's.
    trained = [i for step, ids in seen if step <= 3 for i in ids]
    seen.clear()
    monkeypatch.setattr(W2V2Brain, "on_fit_batch_end", original_end)
    run_pretraining(tmp_path, **settings)
    trained += [i for _, ids in seen for i in ids]
    assert sorted(trained) == all_ids  # every segment once in the epoch
    state = json.loads(
        next((tmp_path / "save").glob("CKPT*/shard_loader.ckpt")).read_text()
    )
    assert state["epoch"] == 1 and not state["partial"]


def test_a_missing_shard_folder_stops_before_training(tmp_path):
    missing = str(tmp_path / "no_shards")
    with pytest.raises(FileNotFoundError, match=missing):
        run_pretraining(tmp_path / "out", **shard_overrides(missing))
    with pytest.raises(ValueError, match="shard_folder"):
        run_pretraining(
            tmp_path / "out", data_source="shards", valid_data_folder=DEV
        )
