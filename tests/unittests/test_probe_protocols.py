"""The two probe protocols resolve to the settings they promise: ``mp3s``
to speechbrain/benchmarks' MP3S YAML files, ``fast`` to the cheaper ones;
the published block names its sources; one registry names every task's
recipe and probes; a misspelt key is refused."""

import os
import tempfile

import pytest
from speechbrain.nnet.schedulers import LinearScheduler, NewBobScheduler

from summary_ssl.probes.protocols import FAST, PROBE_DEFAULTS, load_hparams
from summary_ssl.probes.report import published_block
from summary_ssl.probes.tasks import PUBLISHED, REAL_TASKS, TASKS
from tests.probe_helpers import tiny_encoder

MP3S = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "MP3S")
DIM = 48  # the test encoder's width (MP3S sizes some heads by it)


@pytest.fixture(scope="module")
def ssl_folder(tmp_path_factory):
    """A tiny exported encoder, 48-d."""
    return tiny_encoder(tmp_path_factory.mktemp("encoder"), DIM)


def resolved(recipe, probe, ssl_folder, protocol=None):
    """The loaded hparams of a recipe YAML under a protocol."""
    path = os.path.join(MP3S, recipe, "hparams", f"{probe}.yaml")
    overrides = {
        "data_folder": "/nowhere",
        "ssl_folder": ssl_folder,
        # the YAML's checkpointer makes its folder when built: not in cwd
        "output_folder": tempfile.mkdtemp(prefix="protocols_"),
    }
    if protocol is not None:
        overrides["protocol"] = protocol
    hparams, _ = load_hparams(path, overrides)
    return hparams


def lr_of(opt_partial):
    """The learning rate of a ``!name:`` optimizer partial."""
    return opt_partial.keywords["lr"]


def ecapa_channels(model):
    """(channels of the first block, of the last, embedding size)."""
    ecapa = model.embedding_model
    return (
        ecapa.blocks[0].conv.conv.out_channels,
        ecapa.mfa.conv.conv.out_channels,
        ecapa.fc.conv.out_channels,
    )


def common_mp3s(h, annealed_weights=True):
    """What every MP3S probe shares: raw layers, the layer weights' own
    Adam at 0.01, NewBob 0.9 on them."""
    assert h["protocol"] == "mp3s"
    assert h["layer_sum"].layer_norm is False
    assert lr_of(h["weights_opt_class"]) == 0.01
    if annealed_weights:
        sched = h["lr_annealing_weights"]
        assert isinstance(sched, NewBobScheduler)
        assert sched.annealing_factor == 0.9
        assert sched.improvement_threshold == 0.0025


def test_default_protocol_is_mp3s(ssl_folder):
    """No --protocol: the YAML's, mp3s."""
    h = resolved("SLURP/IC", "linear", ssl_folder)
    assert h["protocol"] == "mp3s"


def test_mp3s_librispeech(ssl_folder):
    """BiLSTM 2 x 1024, dropout 0.2, batch 4, lr 2e-4, NewBob 0.8 on the
    loss, beam search (143, no LM) on test-clean and test-other."""
    h = resolved("LibriSpeech/ASR", "bilstm_ctc", ssl_folder, "mp3s")
    common_mp3s(h)
    assert h["batch_size"] == 4 and h["test_batch_size"] == 1
    assert lr_of(h["opt_class"]) == 0.0002
    assert h["number_of_epochs"] == 20 and h["sorting"] == "ascending"
    assert h["annealing_metric"] == "loss"
    assert h["lr_annealing"].annealing_factor == 0.8
    probe = h["probe"](n_outputs=30)
    lstm = probe.encoder
    assert lstm.forward_layers[0].hidden_size == 1024
    assert len(lstm.forward_layers) == 2 and lstm.dropout.p == 0.2
    assert probe.dropout.p == 0.0
    assert h["test_decoder"] == "beam"
    assert h["beam_search"]["beam_size"] == 143
    assert "kenlm_model_path" not in h["beam_search"]
    assert list(h["test_splits"]) == ["test-clean", "test-other"]
    assert list(h["train_splits"]) == ["train-clean-100"]


def test_mp3s_slurp(ssl_folder):
    """Scenarios; batch 2, lr 2e-4, 20 epochs; linear without bias;
    BiLSTM as wide as the encoder (768 for a Base one) with a projection
    back to its width."""
    linear = resolved("SLURP/IC", "linear", ssl_folder, "mp3s")
    common_mp3s(linear)
    assert linear["label"] == "scenario"
    assert linear["batch_size"] == 2
    assert lr_of(linear["opt_class"]) == 0.0002
    assert linear["number_of_epochs"] == 20
    assert linear["annealing_metric"] == "error_rate"
    head = linear["probe"](n_outputs=18)
    assert head.output.bias is None and head.encoder is None
    bilstm = resolved("SLURP/IC", "bilstm", ssl_folder, "mp3s")
    common_mp3s(bilstm)
    lstm = bilstm["probe"](n_outputs=18).encoder
    assert lstm.forward_layers[0].hidden_size == DIM
    assert len(lstm.forward_layers) == 2
    assert lstm.projection.out_features == DIM


def test_mp3s_iemocap(ssl_folder):
    """Speaker split, test speaker 1; batch 2, lr 2e-4, NewBob 0.9, 30
    epochs; ECAPA 512 channels (1536 last), 96-dim embedding, cosine
    classifier."""
    for probe in ("linear", "ecapa"):
        h = resolved("IEMOCAP/ER", probe, ssl_folder, "mp3s")
        common_mp3s(h)
        assert h["split"] == "speaker" and h["test_speaker"] == 1
        assert h["batch_size"] == 2 and h["number_of_epochs"] == 30
        assert lr_of(h["opt_class"]) == 0.0002
        assert h["lr_annealing"].annealing_factor == 0.9
    model = h["probe"](n_outputs=4)
    assert ecapa_channels(model) == (512, 1536, 96)
    assert h["attention_channels"] == 64
    assert model.classifier.weight.shape == (4, 96)  # cosine Classifier


def test_mp3s_voxceleb(ssl_folder):
    """Batch 8, 3-s waveform crops before the encoder (one per 3 s of
    audio), LinearScheduler 1e-3 -> 1e-4 over 15 epochs, the layer
    weights at a constant 0.01; x-vector 512 (1500 last), ECAPA 512."""
    for probe in ("xvector", "ecapa"):
        h = resolved("VoxCeleb1/SV", probe, ssl_folder, "mp3s")
        common_mp3s(h, annealed_weights=False)
        assert h["lr_annealing_weights"] is None  # constant
        assert h["batch_size"] == 8 and h["number_of_epochs"] == 15
        assert h["crop_waveform"] is True and h["crop_seconds"] == 3.0
        assert h["train_segments"] is True
        sched = h["lr_annealing"]
        assert isinstance(sched, LinearScheduler)
        assert sched(1)[0] == pytest.approx(0.001)
        assert sched(15)[1] == pytest.approx(0.0001)
        assert h["opt_class"].keywords["weight_decay"] == 2e-6
    xvector = resolved("VoxCeleb1/SV", "xvector", ssl_folder, "mp3s")
    assert xvector["classifier"] == "xvector" and xvector["emb_dim"] == 512
    assert xvector["last_channels"] == 1500
    ecapa = resolved("VoxCeleb1/SV", "ecapa", ssl_folder, "mp3s")
    model = ecapa["probe"](n_outputs=5)
    assert ecapa_channels(model) == (512, 1536, 512)


def test_fast_protocol_applies_its_overrides(ssl_folder):
    """Every FAST value reaches the resolved hparams, and the command
    line still wins over the protocol."""
    for recipe, probes in FAST.items():
        for probe, values in probes.items():
            h = resolved(recipe, probe, ssl_folder, "fast")
            assert h["protocol"] == "fast"
            for key, value in values.items():
                assert h[key] == value, (recipe, probe, key)
    h = resolved("LibriSpeech/ASR", "bilstm_ctc", ssl_folder, "fast")
    assert h["test_decoder"] == "greedy" and h["batch_size"] == 8
    path = os.path.join(MP3S, "SLURP/IC/hparams/linear.yaml")
    h, text = load_hparams(
        path,
        "protocol: fast\nbatch_size: 3\ndata_folder: /x\n"
        f"ssl_folder: {ssl_folder}\n"
        f"output_folder: {tempfile.mkdtemp(prefix='protocols_')}\n",
    )
    assert h["batch_size"] == 3 and lr_of(h["opt_class"]) == 0.01
    assert "batch_size: 3" in text and "lr: 0.01" in text


def test_unknown_protocol_is_an_error(ssl_folder):
    with pytest.raises(ValueError, match="protocol must be one of"):
        resolved("SLURP/IC", "linear", ssl_folder, "slow")


def test_published_block_names_sources():
    """Both sources, the SummaryMixing SLURP figures, and the warning
    that only --protocol mp3s runs compare."""
    text = published_block("mp3s", probes={"IC": "bilstm"})
    assert "speechbrain/benchmarks" in text and "arXiv 2306.00452" in text
    assert "arXiv 2407.13377" in text
    assert "| 80.5 |" in text and "| 78.1 |" in text
    assert "comparable only under `--protocol mp3s`" in text
    assert "none of these rows is comparable" in published_block("fast")
    assert {p.task for p in PUBLISHED} == {"ASR", "IC", "ER", "SV"}


def test_registry_names_existing_recipes():
    """Every task of the registry has its recipe folder, train.py and
    probe YAMLs, and its fast settings name only its probes."""
    for task in [*TASKS.values(), *REAL_TASKS.values()]:
        folder = os.path.join(MP3S, task.recipe)
        assert os.path.isfile(os.path.join(folder, "train.py"))
        for probe in task.probes:
            assert os.path.isfile(
                os.path.join(folder, "hparams", f"{probe}.yaml")
            )
        assert set(task.fast) <= set(task.probes)


def test_misspelt_keys_are_refused(ssl_folder, tmp_path):
    """An override of an undeclared key, and an unused YAML key close to
    a setting, are errors naming the right key; a key a YAML leaves out
    takes its value from PROBE_DEFAULTS."""
    with pytest.raises(ValueError, match="did you mean --lr_weights"):
        load_hparams(
            os.path.join(MP3S, "SLURP/IC/hparams/linear.yaml"),
            {"data_folder": "/x", "lr_weigths": 0.1},
        )
    path = tmp_path / "xvector.yaml"
    text = open(os.path.join(MP3S, "VoxCeleb1/SV/hparams/xvector.yaml")).read()
    path.write_text(text + "annealing_metrc: loss\n")
    overrides = {"data_folder": "/x", "ssl_folder": ssl_folder}
    overrides["output_folder"] = str(tmp_path / "out")
    with pytest.raises(ValueError, match="did you mean annealing_metric"):
        load_hparams(str(path), overrides)
    h = resolved("VoxCeleb1/SV", "xvector", ssl_folder)
    assert h["annealing_metric"] == PROBE_DEFAULTS["annealing_metric"]
    assert h["lr_annealing_weights"] is None and h["test_batch_size"] is None
