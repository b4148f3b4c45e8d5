"""MP3S probe pieces: features, cache, heads, ProbeBrain, report."""

import os

import pytest
import torch

from summary_ssl.lobes.conformer import ConformerEncoder
from summary_ssl.lobes.frontends import FbankCNNFrontEnd
from summary_ssl.lobes.wav2vec2 import Wav2Vec2Encoder
from summary_ssl.pretrained import WeightedLayerSum, export_encoder
from summary_ssl.probes.cache import FeatureCache
from summary_ssl.probes.features import FbankFeatures, FrozenFeatures
from summary_ssl.probes.heads import BiLSTM, PooledHead, masked_mean
from summary_ssl.probes.report import TaskSpec, results_table

SAMPLES = [16000, 11000, 5000]


@pytest.fixture(scope="module")
def ssl_folder(tmp_path_factory):
    """A tiny exported encoder (2 SummaryMixing Conformer layers)."""
    torch.manual_seed(0)
    model = Wav2Vec2Encoder(
        FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
        ConformerEncoder(
            2, 32, 64, 4, kernel_size=3, attention_type="SummaryMixing"
        ),
        d_model=32,
    )
    return export_encoder(model, tmp_path_factory.mktemp("encoder"))


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
            },
            run_opts={"device": "cpu"},
        )
        outputs.append(brain.compute_features(batch))
    (plain, plain_lens), (cached, cached_lens) = outputs
    torch.testing.assert_close(cached_lens, plain_lens)
    torch.testing.assert_close(cached, plain, atol=2e-2, rtol=2e-3)
    files = [f for _, _, fs in os.walk(tmp_path / "cache") for f in fs]
    assert sum(f.endswith(".pt") for f in files) == len(SAMPLES)
