"""The S3LSpeech recipe YAMLs: published settings, shared keys, layout."""

import pytest
from hyperpyyaml import load_hyperpyyaml

from summary_ssl.brains.hparams_checks import check_pretraining_hparams
from tools.toy import S3L_RECIPE

NAMES = ("s3lspeech", "s3lspeech_summarymixing")


def _load(name, tmp_path, **overrides):
    with open(S3L_RECIPE / "hparams" / f"{name}.yaml") as f:
        return load_hyperpyyaml(
            f, {"data_folder": "x", "output_folder": str(tmp_path), **overrides}
        )


def test_yamls_differ_only_in_the_encoder_block():
    texts = [(S3L_RECIPE / "hparams" / f"{n}.yaml").read_text() for n in NAMES]

    def outside_block(name, text):
        text = text.replace(f"experiment_name: {name}\n", "")
        head = text[: text.index("# >>> encoder block")]
        tail = text[text.index("# <<< encoder block") :]
        return head.split("# ####", 2)[-1], tail  # skip the title comment

    assert outside_block(NAMES[0], texts[0]) == outside_block(
        NAMES[1], texts[1]
    )


@pytest.mark.parametrize("name", NAMES)
def test_published_settings(name, tmp_path):
    """Orange-OpenSource/s3lspeech config/s3lspeech.py, config/block.py,
    models/ssl.py."""
    h = _load(name, tmp_path)
    expected = dict(
        n_mels=128,
        win_length=20,
        hop_length=10,
        optimizer_step_limit=12500,
        max_batch_length=1080,
        grad_accumulation_factor=4,
        lr=3e-4,
        weight_decay=0.01,
        num_negatives=100,
        logit_temp=0.5,
        noise_prob=0.5,
        precision="bf16",
        d_model=512,
        num_encoder_layers=4,
        first_stage_layers=2,
        nhead=8,
        d_ffn=2048,
        proj_dim=256,
    )
    for key, value in expected.items():
        assert h[key] == value, key
    optimizer = h["optimizer"](h["student"].parameters())
    assert optimizer.defaults["betas"] == (0.9, 0.98)
    encoder = h["encoder"].encoder
    assert len(encoder.stage1.layers) == 2 and len(encoder.stage2.layers) == 2
    assert h["encoder"].front.specs == [(384, 5, 2), (512, 5, 2), (512, 1, 1)]
    assert encoder.downsample.specs == [(1536, 5, 2), (512, 1, 1)]
    assert h["encoder_to_export"] is h["encoder"]
    assert h["teacher"].decay(1) == pytest.approx(0.995, abs=1e-6)
    check_pretraining_hparams(h)


@pytest.mark.parametrize("name", NAMES)
def test_sizes_shrink_from_the_same_keys_as_wav2vec2(name, tmp_path):
    h = _load(
        name,
        tmp_path,
        d_model=64,
        num_encoder_layers=3,
        first_stage_layers=1,
        nhead=4,
        d_ffn=128,
    )
    encoder = h["encoder"]
    assert len(encoder.encoder.stage1.layers) == 1
    assert len(encoder.encoder.stage2.layers) == 2
    assert encoder.hidden_size == 64 and encoder.num_hidden_states == 4
    for key in (
        "data_folder",
        "data_source",
        "precision",
        "max_batch_length",
        "grad_accumulation_factor",
        "number_of_epochs",
        "lr",
    ):
        assert key in h, key


def test_bad_values_are_listed(tmp_path):
    h = _load("s3lspeech", tmp_path)
    bad = dict(h, logit_temp=0, noise_prob=1.5, first_stage_layers=5)
    with pytest.raises(ValueError) as error:
        check_pretraining_hparams(bad)
    message = str(error.value)
    for key in ("logit_temp", "noise_prob", "first_stage_layers"):
        assert key in message
