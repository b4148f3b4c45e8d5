"""Exported encoders: write one after pretraining, load it frozen.

An exported folder is self-contained (no recipe, no Hugging Face)::

    <folder>/hyperparams.yaml   # rebuilds the encoder (key wav2vec2)
    <folder>/wav2vec2.ckpt      # its state dict
    <folder>/meta.json          # where it came from (step, recipe, ...)

Authors
-------
* summary_ssl contributors 2026
"""

import json
import logging
import pathlib

import torch
import torch.nn as nn
from hyperpyyaml import load_hyperpyyaml

from summary_ssl.utils.config import to_hyperpyyaml

logger = logging.getLogger(__name__)

HPARAMS = "hyperparams.yaml"
WEIGHTS = "wav2vec2.ckpt"
META = "meta.json"


def export_encoder(wav2vec2, folder, meta=None):
    """Writes the encoder ``wav2vec2`` to ``folder``.

    Arguments
    ---------
    wav2vec2 : torch.nn.Module
        The encoder (DDP-unwrapped): a recorded ``Wav2Vec2Encoder`` or
        ``S3LEncoder``, or any recorded module called as
        ``model(wavs, wav_lens, output_hidden_states=True)`` that returns
        ``hidden_states`` and ``frame_lengths`` and has
        ``num_hidden_states`` and ``hidden_size``.
    folder : str or pathlib.Path
        Destination; created if missing.
    meta : dict, optional
        Extra information for ``meta.json``.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / HPARAMS).write_text(
        "# Rebuilds the exported encoder; weights in wav2vec2.ckpt\n"
        + to_hyperpyyaml(wav2vec2=wav2vec2)
    )
    state = {k: v.detach().cpu() for k, v in wav2vec2.state_dict().items()}
    torch.save(state, folder / WEIGHTS)
    (folder / META).write_text(json.dumps(meta or {}, indent=2) + "\n")
    logger.info(f"Exported encoder to {folder}")
    return folder


def build_encoder(folder, random_init=False):
    """Rebuilds the encoder of an exported folder.

    Arguments
    ---------
    folder : str or pathlib.Path
        An exported folder.
    random_init : bool
        Skip loading the weights (the random-init baseline).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    FileNotFoundError
        When a file of the folder is missing.
    ValueError
        When the weights do not fit the architecture.
    """
    folder = pathlib.Path(folder)
    for name in (HPARAMS,) + (() if random_init else (WEIGHTS,)):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} not found: is {folder} an exported encoder "
                "folder (see summary_ssl.export)?"
            )
    with open(folder / HPARAMS, encoding="utf-8") as f:
        model = load_hyperpyyaml(f)["wav2vec2"]
    if not random_init:
        state = torch.load(folder / WEIGHTS, map_location="cpu")
        try:
            model.load_state_dict(state)
        except RuntimeError as err:  # missing/unexpected keys, shapes
            first = " ".join(str(err).strip().splitlines()[:3])
            raise ValueError(
                f"{folder}: {WEIGHTS} does not match the encoder that "
                f"{HPARAMS} builds (was the folder mixed from two "
                f"exports?): {first}"
            ) from err
    return model


class FrozenLayers(nn.Module):
    """A frozen module from waveforms to a stack of layers: the frozen
    stage of a probe's input (:mod:`summary_ssl.probes.features`).

    A subclass sets ``num_layers`` (``L``) and ``out_dim`` (``D``) and
    computes the layers in :meth:`layers`, which :meth:`forward` runs
    without gradient.
    """

    @torch.no_grad()
    def forward(self, wavs, wav_lens):
        """Every layer of a batch.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, N) waveforms.
        wav_lens : torch.Tensor
            (B,) relative lengths.

        Returns
        -------
        hidden_states : torch.Tensor
            (L, B, T, D), zero on padded frames.
        frame_lens : torch.Tensor
            (B,) relative lengths in frames.
        """
        return self.layers(wavs, wav_lens)

    def layers(self, wavs, wav_lens):
        """:meth:`forward`'s work, with its arguments and returns."""
        raise NotImplementedError


class FrozenSSLEncoder(FrozenLayers):
    """A frozen exported encoder that returns every layer's hidden states.

    It stays in eval mode (``train()`` does not change that), runs under
    ``no_grad``, and passes the real lengths so padding changes nothing.

    Arguments
    ---------
    folder : str or pathlib.Path
        Exported encoder folder.
    random_init : bool
        Use the architecture with random weights (a baseline).

    Example
    -------
    >>> import tempfile
    >>> from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    >>> from summary_ssl.lobes.frontends import FbankCNNFrontEnd
    >>> from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
    >>> model = Wav2Vec2Encoder(
    ...     FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
    ...     ConformerEncoder(2, 32, 64, 4, kernel_size=3,
    ...                      attention_type="SummaryMixing-fast"),
    ...     d_model=32,
    ... )
    >>> folder = export_encoder(model, tempfile.mkdtemp())
    >>> ssl = FrozenSSLEncoder(folder).train()
    >>> hidden, lens = ssl(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    >>> hidden.shape, ssl.wav2vec2.training, hidden.requires_grad
    (torch.Size([3, 2, 23, 32]), False, False)
    >>> ssl.num_layers, ssl.out_dim, lens.tolist()
    (3, 32, [1.0, 0.434...])
    """

    def __init__(self, folder, random_init=False):
        super().__init__()
        self.wav2vec2 = build_encoder(folder, random_init=random_init)
        self.wav2vec2.requires_grad_(False)
        self.wav2vec2.eval()
        self.num_layers = self.wav2vec2.num_hidden_states
        self.out_dim = self.wav2vec2.hidden_size

    def train(self, mode=True):
        """Keeps the encoder in eval mode whatever ``mode`` is."""
        super().train(mode)
        self.wav2vec2.eval()
        return self

    def layers(self, wavs, wav_lens):
        """Hidden states of every layer (see :meth:`FrozenLayers.forward`)."""
        out = self.wav2vec2(wavs, wav_lens, output_hidden_states=True)
        T = out["hidden_states"].shape[2]
        return out["hidden_states"], out["frame_lengths"].float() / T


class WeightedLayerSum(nn.Module):
    """Learned softmax-weighted sum of layers (MP3S's weighted SSL features).

    MP3S (SpeechBrain's ``WeightedSSLModel(layernorm=False)``) sums the raw
    layers. Optional input normalisations, with fixed statistics of the
    training set (:meth:`set_statistics`, computed by
    :mod:`summary_ssl.probes.standardize`; they are buffers, so they are
    checkpointed with the probe):

    * ``standardize``: each layer is standardised per dimension. A layer
      whose values sit on a large offset, or at a scale far from the
      others', then weighs what its content is worth;
    * ``whiten`` (with ``standardize``): each layer is also decorrelated
      (ZCA whitening of its standardised features, eigenvalues shrunk
      towards their mean). Frozen features are often so correlated (the
      pooled features of a small wav2vec 2.0 had a correlation matrix of
      condition number ~1e9) that a linear probe trained by Adam barely
      moves along the directions that separate the classes; whitened, it
      converges in a few thousand steps. The whitened layers are computed
      without gradient (the transform is fixed), so only the weighted sum
      is differentiated;
    * ``layer_norm``: SpeechBrain's ``layernorm=True`` (every frame of
      every layer normalised over its features).

    Arguments
    ---------
    num_layers : int
        Number of hidden states to combine.
    layer_norm : bool
        Normalise each frame of each layer over its features first.
    dim : int, optional
        Feature dimension; needed for ``standardize``.
    standardize : str, optional
        ``None`` (off), ``"frame"`` (statistics over the training frames,
        for probes that read frames) or ``"utterance"`` (statistics of the
        utterances' mean-pooled features, for probes that pool first). The
        layers pass unchanged until :meth:`set_statistics` is called.
    whiten : bool
        Also whiten each layer (with ``standardize`` only: without it,
        nothing is normalised).
    shrinkage : float
        Whitening: each eigenvalue of a layer's correlation matrix is
        increased by ``shrinkage`` times their mean (i.e. by ``shrinkage``)
        before the inverse square root, so near-empty directions are not
        blown up.

    Example
    -------
    >>> mix = WeightedLayerSum(3)
    >>> mix(torch.randn(3, 2, 5, 8)).shape
    torch.Size([2, 5, 8])
    >>> mix.layer_weights().tolist()  # uniform at start
    [0.3333333432674408, 0.3333333432674408, 0.3333333432674408]
    >>> mix = WeightedLayerSum(2, dim=4, standardize="frame")
    >>> x = 100.0 + 10.0 * torch.randn(2, 3, 6, 4)  # (L, B, T, D)
    >>> mix.set_statistics(x.mean(dim=(1, 2)), x.std(dim=(1, 2)))
    >>> abs(mix(x).mean().item()) < 1e-4  # the offset is gone
    True
    >>> mix(x, torch.tensor([1.0, 1.0, 0.5]))[2, 3:].abs().max().item()
    0.0
    """

    LEVELS = ("frame", "utterance")

    def __init__(
        self,
        num_layers,
        layer_norm=False,
        dim=None,
        standardize=None,
        whiten=False,
        shrinkage=0.01,
    ):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(num_layers))
        self.layer_norm = layer_norm
        if standardize not in (None, False) + self.LEVELS:
            raise ValueError(
                f"standardize must be None or one of {self.LEVELS}, "
                f"not {standardize!r}"
            )
        self.standardize = standardize or None
        self.whiten = bool(whiten) and self.standardize is not None
        self.shrinkage = shrinkage
        if self.whiten and layer_norm:
            raise ValueError("whiten and layer_norm exclude each other")
        if self.standardize:
            if dim is None:
                raise ValueError("standardize needs the feature dim")
            self.register_buffer("mean", torch.zeros(num_layers, dim))
            self.register_buffer("std", torch.ones(num_layers, dim))
            self.register_buffer("has_statistics", torch.tensor(False))
        if self.whiten:
            eye = torch.eye(dim).expand(num_layers, dim, dim)
            self.register_buffer("transform", eye.clone())

    def set_statistics(self, mean, std, transform=None, min_std=1e-5):
        """Sets the per-layer normalisation statistics.

        Arguments
        ---------
        mean, std : torch.Tensor
            (num_layers, dim) statistics of the training set.
        transform : torch.Tensor, optional
            (num_layers, dim, dim) whitening matrices (rows: input
            dimensions), applied to ``x - mean``; needed with ``whiten``.
        min_std : float
            Floor of ``std`` (constant dimensions stay finite).
        """
        if not self.standardize:
            raise ValueError("this layer sum was built without standardize")
        if self.whiten and transform is None:
            raise ValueError("whiten needs the whitening transform")
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(min_std))
        if self.whiten:
            self.transform.copy_(transform)
        self.has_statistics.fill_(True)

    def needs_statistics(self):
        """Whether :meth:`set_statistics` must still be called."""
        return bool(self.standardize) and not bool(self.has_statistics)

    def layer_weights(self):
        """The current softmax weights, (num_layers,)."""
        return torch.softmax(self.weights.detach(), dim=0)

    def normalized_layers(self, hidden_states):
        """The layers after the fixed normalisation (no gradient flows
        into the statistics), before the weighted sum."""
        if self.standardize and bool(self.has_statistics):
            x = hidden_states - self.mean[:, None, None, :].to(
                hidden_states.dtype
            )
            if self.whiten:
                with torch.no_grad():
                    transform = self.transform.to(x.dtype)
                    return torch.einsum("lbtd,lde->lbte", x, transform)
            hidden_states = x / self.std[:, None, None, :].to(x.dtype)
        if self.layer_norm:
            hidden_states = nn.functional.layer_norm(
                hidden_states, hidden_states.shape[-1:]
            )
        return hidden_states

    def forward(self, hidden_states, lengths=None):
        """(L, B, T, D) -> (B, T, D).

        Arguments
        ---------
        hidden_states : torch.Tensor
            (L, B, T, D) layers.
        lengths : torch.Tensor, optional
            (B,) relative lengths: the padded frames of the output are set
            to zero (normalisation moves them away from zero).
        """
        w = torch.softmax(self.weights, dim=0).to(hidden_states.dtype)
        standardized = self.standardize and bool(self.has_statistics)
        if standardized and not (self.layer_norm or self.whiten):
            # sum_l w_l (x_l - mean_l) / std_l, without the (L, B, T, D)
            # temporaries: one einsum with per-(layer, dim) coefficients.
            coef = w[:, None] / self.std.to(w.dtype)
            out = torch.einsum("ld,lbtd->btd", coef, hidden_states)
            out = out - (coef * self.mean.to(w.dtype)).sum(dim=0)
        else:
            layers = self.normalized_layers(hidden_states)
            out = torch.einsum("l,lbtd->btd", w, layers)
        if lengths is not None:
            T = out.shape[1]
            frames = torch.round(lengths * T).long().clamp(1, T)
            steps = torch.arange(T, device=out.device)
            real = steps[None, :] < frames[:, None].to(out.device)
            out = out * real.unsqueeze(-1).to(out.dtype)
        return out
