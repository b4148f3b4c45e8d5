"""MP3S probe pieces: features, cache, heads, ProbeBrain, report."""

import os

import pytest
import torch

from summary_ssl.nnet.padding import masked_mean
from summary_ssl.pretrained import WeightedLayerSum
from summary_ssl.probes.cache import FeatureCache
from summary_ssl.probes.features import FbankFeatures, FrozenFeatures
from summary_ssl.probes.heads import BiLSTM, PooledHead
from summary_ssl.probes.report import TaskSpec, results_table
from tests.probe_helpers import tiny_encoder

SAMPLES = [16000, 11000, 5000]


@pytest.fixture(scope="module")
def ssl_folder(tmp_path_factory):
    """A tiny exported encoder (2 SummaryMixing Conformer layers)."""
    return tiny_encoder(tmp_path_factory.mktemp("encoder"))


def _batch(samples=SAMPLES, seed=0):
    gen = torch.Generator().manual_seed(seed)
    wavs = torch.zeros(len(samples), max(samples))
    for i, n in enumerate(samples):
        wavs[i, :n] = torch.randn(n, generator=gen) * 0.1
    lens = torch.tensor(samples, dtype=torch.float) / max(samples)
    return wavs, lens


def test_ssl_features_frozen_and_padding_invariant(ssl_folder):
    """Every layer, no gradient, and a padded utterance's real frames
    equal those of the utterance alone."""
    extractor = FrozenFeatures("ssl", ssl_folder).train()
    assert extractor.num_layers == 3 and extractor.out_dim == 32
    assert not any(p.requires_grad for p in extractor.parameters())
    wavs, lens = _batch()
    hidden, frame_lens = extractor(wavs, lens)
    assert hidden.shape[:2] == (3, 3) and not hidden.requires_grad
    T = hidden.shape[2]
    n = int(round(frame_lens[2].item() * T))
    alone, alone_lens = extractor(wavs[2:, : SAMPLES[2]], torch.ones(1))
    assert alone.shape[2] == n and alone_lens.item() == 1.0
    torch.testing.assert_close(
        hidden[:, 2, :n], alone[:, 0], atol=1e-4, rtol=1e-4
    )
    assert hidden[:, 2, n:].abs().max() == 0


def test_random_init_differs_and_fingerprints(ssl_folder):
    """random_init keeps the architecture, not the weights; the cache
    fingerprint tells them apart."""
    trained = FrozenFeatures("ssl", ssl_folder)
    torch.manual_seed(123)
    random = FrozenFeatures("ssl", ssl_folder, random_init=True)
    wavs, lens = _batch()
    h1, _ = trained(wavs, lens)
    h2, _ = random(wavs, lens)
    assert h1.shape == h2.shape
    assert not torch.allclose(h1[-1], h2[-1])
    assert trained.fingerprint() != random.fingerprint()
    assert (
        trained.fingerprint() == FrozenFeatures("ssl", ssl_folder).fingerprint()
    )


def test_fbank_features_normalised_per_utterance():
    """Zero mean, unit variance over each utterance's real frames and
    channels, but not per channel (mean pooling must see the spectral
    shape); the real frames do not depend on the padding (but for the
    STFT's last frames)."""
    fbank = FbankFeatures()
    wavs, lens = _batch()
    feats, frame_lens = fbank(wavs, lens)
    assert feats.shape[0] == 1 and feats.shape[-1] == 80
    T = feats.shape[2]
    for i in range(len(SAMPLES)):
        n = int(round(frame_lens[i].item() * T))
        real = feats[0, i, :n]
        assert abs(real.mean().item()) < 1e-4
        assert abs(real.std(unbiased=False).item() - 1.0) < 1e-3
        assert real.mean(0).abs().max() > 0.1  # spectral shape kept
        assert n == T or feats[0, i, n:].abs().max() == 0
    alone, _ = fbank(wavs[2:, : SAMPLES[2]], torch.ones(1))
    n = alone.shape[2]
    torch.testing.assert_close(
        feats[0, 2, : n - 2], alone[0, 0, : n - 2], atol=1e-3, rtol=1e-3
    )


def test_weighted_sum_trains_encoder_does_not(ssl_folder):
    """Gradients reach the layer weights and the probe, never the
    encoder."""
    extractor = FrozenFeatures("ssl", ssl_folder)
    layer_sum = WeightedLayerSum(extractor.num_layers)
    probe = PooledHead(extractor.out_dim, 4)
    wavs, lens = _batch()
    hidden, frame_lens = extractor(wavs, lens)
    loss = probe(layer_sum(hidden), frame_lens).logsumexp(-1).sum()
    loss.backward()
    assert layer_sum.weights.grad is not None
    assert layer_sum.weights.grad.abs().sum() > 0
    assert all(p.grad is None for p in extractor.parameters())


def test_cache_roundtrip(tmp_path, ssl_folder):
    """The cache returns every layer of the real frames in fp16 and pads
    like the extractor; another fingerprint uses another folder."""
    extractor = FrozenFeatures("ssl", ssl_folder)
    wavs, lens = _batch()
    hidden, frame_lens = extractor(wavs, lens)
    ids = ["spk/utt-a", "utt b", "c"]
    cache = FeatureCache(tmp_path, extractor.fingerprint())
    assert cache.missing(ids) == ids
    cache.save(ids, hidden, frame_lens)
    assert cache.missing(ids) == []
    loaded, loaded_lens = cache.load(ids)
    torch.testing.assert_close(loaded_lens, frame_lens)
    torch.testing.assert_close(loaded, hidden, atol=2e-2, rtol=2e-3)
    sub, sub_lens = cache.load(["c"])
    assert sub_lens.tolist() == [1.0]
    other = FeatureCache(tmp_path, {"features": "fbank"})
    assert other.folder != cache.folder and other.missing(["c"]) == ["c"]


def test_masked_mean_and_bilstm_ignore_padding():
    """Pooled outputs do not change when the padding does."""
    torch.manual_seed(0)
    x = torch.randn(2, 7, 6)
    lens = torch.tensor([1.0, 4 / 7])
    lstm = BiLSTM(6, 5, num_layers=2).eval()
    head = PooledHead(6, 3, encoder=lstm).eval()
    out = head(x, lens)
    y = x.clone()
    y[1, 4:] = 100.0
    torch.testing.assert_close(head(y, lens), out)
    torch.testing.assert_close(masked_mean(y, lens), masked_mean(x, lens))
    assert lstm(y, lens)[1, 4:].abs().max() == 0


def test_results_table_shape():
    """Three feature rows and one column per task."""
    tasks = [(k, TaskSpec(k, (("m", "%"),))) for k in ("ASR", "IC", "ER", "SV")]
    results = {
        row: {k: {"m": 1.0} for k, _ in tasks}
        for row in ("ssl", "random_init", "fbank")
    }
    lines = results_table(tasks, list(results), results).splitlines()
    assert len(lines) == 5
    assert all(line.count("|") == 6 for line in lines)


def test_cached_brain_features_match(tmp_path, ssl_folder):
    """ProbeBrain.compute_features gives the same probe input with and
    without the cache (to fp16 precision), and fills the cache once."""
    from speechbrain.dataio.batch import PaddedBatch

    from summary_ssl.probes.brain import ProbeBrain

    wavs, _ = _batch()
    items = [{"id": f"u{i}", "sig": wavs[i, :n]} for i, n in enumerate(SAMPLES)]
    batch = PaddedBatch(items)
    outputs = []
    for cache in (False, True):
        extractor = FrozenFeatures("ssl", ssl_folder)
        torch.manual_seed(0)
        layer_sum = WeightedLayerSum(extractor.num_layers)
        brain = ProbeBrain(
            modules={"extractor": extractor, "layer_sum": layer_sum},
            hparams={
                "cache_features": cache,
                "feature_cache": str(tmp_path / "cache"),
                "crop_waveform": False,
            },
            run_opts={"device": "cpu"},
        )
        outputs.append(brain.compute_features(batch))
    (plain, plain_lens), (cached, cached_lens) = outputs
    torch.testing.assert_close(cached_lens, plain_lens)
    torch.testing.assert_close(cached, plain, atol=2e-2, rtol=2e-3)
    files = [f for _, _, fs in os.walk(tmp_path / "cache") for f in fs]
    assert sum(f.endswith(".npy") for f in files) == len(SAMPLES)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_standardized_layer_sum(layer_norm):
    """With statistics, the layer sum is the weighted sum of the layers
    standardised per dimension (the fused path equals the plain
    formula), padded frames are zero, and the statistics are buffers
    that a state dict carries."""
    torch.manual_seed(0)
    x = 200.0 + 30.0 * torch.randn(3, 2, 5, 8)
    mean, std = x.mean(dim=(1, 2)), x.std(dim=(1, 2))
    layer_sum = WeightedLayerSum(
        3, dim=8, standardize="frame", layer_norm=layer_norm
    )
    assert layer_sum.needs_statistics()
    torch.testing.assert_close(layer_sum(x), layer_sum(x))
    with torch.no_grad():
        layer_sum.weights.copy_(torch.tensor([0.3, -1.0, 2.0]))
    layer_sum.set_statistics(mean, std)
    z = (x - mean[:, None, None]) / std[:, None, None]
    if layer_norm:
        z = torch.nn.functional.layer_norm(z, (8,))
    expected = torch.einsum("l,lbtd->btd", layer_sum.layer_weights(), z)
    torch.testing.assert_close(layer_sum(x), expected, atol=1e-5, rtol=1e-5)
    out = layer_sum(x, torch.tensor([1.0, 0.6]))
    assert out[1, 3:].abs().max() == 0
    torch.testing.assert_close(out[1, :3], expected[1, :3])
    copy = WeightedLayerSum(3, dim=8, standardize="frame")
    copy.load_state_dict(layer_sum.state_dict())
    assert not copy.needs_statistics()
    torch.testing.assert_close(copy.std, std)


def test_statistics_from_the_training_set(ssl_folder):
    """ProbeBrain.standardize_from sets per-layer statistics: the
    standardised training features have zero mean and unit variance per
    dimension (over frames, or over utterance means)."""
    from speechbrain.dataio.dataset import DynamicItemDataset

    from summary_ssl.nnet.padding import masked_mean
    from summary_ssl.probes.brain import ProbeBrain

    wavs, _ = _batch()
    data = DynamicItemDataset(
        {f"u{i}": {"n": n} for i, n in enumerate(SAMPLES)}
    )
    data.add_dynamic_item(
        lambda uid: wavs[int(uid[1:]), : SAMPLES[int(uid[1:])]], "id", "sig"
    )
    data.set_output_keys(["id", "sig"])
    extractor = FrozenFeatures("ssl", ssl_folder)
    hidden, lens = extractor(wavs, torch.tensor(SAMPLES) / max(SAMPLES))
    for level in ("frame", "utterance"):
        layer_sum = WeightedLayerSum(3, dim=32, standardize=level)
        brain = ProbeBrain(
            modules={"extractor": extractor, "layer_sum": layer_sum},
            hparams={
                "cache_features": False,
                "crop_waveform": False,
                "standardize_utterances": None,
            },
            run_opts={"device": "cpu"},
        )
        brain.standardize_from(data, {"batch_size": 2})
        z = (hidden - layer_sum.mean[:, None, None]) / layer_sum.std[
            :, None, None
        ]
        if level == "utterance":
            pooled = torch.stack([masked_mean(layer, lens) for layer in z])
            values = pooled.reshape(-1, 32)
        else:
            T = hidden.shape[2]
            frames = torch.round(lens * T).long()
            values = torch.cat(
                [z[:, i, : frames[i]].reshape(-1, 32) for i in range(3)]
            )
        assert values.mean(0).abs().max() < 1e-3
        var = values.pow(2).mean(0)
        assert ((var - 1).abs() < 1e-3).float().mean() > 0.9


def test_speaker_crops_do_not_depend_on_the_audio(tmp_path, ssl_folder):
    """The training crop has crop_seconds of frames whether the batch's
    features come from the encoder or from the cache (whose batches carry
    a placeholder waveform), and the layer sum sees the crop only."""
    import speechbrain as sb
    from speechbrain.dataio.batch import PaddedBatch

    from summary_ssl.probes.verification import SpeakerProbeBrain

    class Recorder(torch.nn.Module):
        def forward(self, feats, lens):
            self.shape = feats.shape
            return feats.mean(dim=1)

    wavs, _ = _batch([48000, 40000])  # 3 s and 2.5 s
    extractor = FrozenFeatures("ssl", ssl_folder)
    assert extractor.frame_rate == pytest.approx(50.0, abs=0.5)
    probe = Recorder()
    brain = SpeakerProbeBrain(
        modules={
            "extractor": extractor,
            "layer_sum": WeightedLayerSum(3),
            "probe": probe,
        },
        hparams={
            "cache_features": True,
            "feature_cache": str(tmp_path / "cache"),
            "crop_seconds": 1.0,
            "crop_waveform": False,
        },
        run_opts={"device": "cpu"},
    )
    full = [{"id": f"u{i}", "sig": wavs[i]} for i in range(2)]
    placeholder = [{"id": f"u{i}", "sig": torch.zeros(1)} for i in range(2)]
    shapes = []
    for items in (full, placeholder):  # encoder, then cache
        brain.compute_forward(PaddedBatch(items), sb.Stage.TRAIN)
        shapes.append(tuple(probe.shape))
    assert shapes[0] == shapes[1] == (2, 50, 32)
    brain.compute_forward(PaddedBatch(placeholder), sb.Stage.VALID)
    assert probe.shape[1] > 140  # validation: whole utterances
