"""The wav2vec 2.0 encoder: front end, masking, context encoder.

This is the part of the model that is exported after pretraining and used
downstream; the training objective (quantiser, projections, losses) lives
beside it in :mod:`summary_ssl.lobes.objectives.wav2vec2`.

SpeechBrain's ``EncoderWrapper`` plays the same role (projection, mask
embedding, sinusoidal positions, encoder) but derives the padding mask by
rounding relative lengths and drops the encoder's hidden states, which the
MP3S probes need; hence this module.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn

from summary_ssl.lobes.encoders.exportable import ExportableEncoder
from summary_ssl.nnet.padding import padding_mask
from summary_ssl.nnet.positions import SinusoidalPositions
from summary_ssl.utils.config import records_init

POSITIONAL_ENCODINGS = ("sinusoidal", None)


class Wav2Vec2Encoder(ExportableEncoder):
    """Front end -> projection -> dropout -> mask embedding -> + positions
    -> encoder, as SpeechBrain's (and the SummaryMixing SSL paper's)
    ``EncoderWrapper``.

    Arguments
    ---------
    frontend : torch.nn.Module
        Maps ``(wavs, lengths_in_samples)`` to ``(latents, frame_lengths)``
        and has ``out_dim`` and ``output_lengths`` (see
        :mod:`summary_ssl.lobes.frontends`). Its latents are the
        quantiser's input, so it ends with its own normalisation (both
        front ends end with a LayerNorm).
    encoder : torch.nn.Module
        A :class:`summary_ssl.lobes.encoders.conformer.ConformerEncoder` (or any
        encoder with its signature and ``output_hidden_states``).
    d_model : int
        Encoder size.
    dropout_input : float
        Dropout on the projected latents.
    positional_encoding : str or None
        ``sinusoidal`` (absolute sinusoidal positions added after masking,
        as SpeechBrain's ``EncoderWrapper``) or None (no positions: the
        encoder's depthwise convolutions are then its only source of
        order).
    feature_grad_mult : float
        Scale of the gradient that reaches the front end (fairseq's
        ``feature_grad_mult``: 0.1 in its wav2vec 2.0 base model; 1.0
        leaves it alone). Under Adam a uniform scale of the front end's
        whole gradient changes almost nothing (the update is invariant to
        it up to ``eps``). 0 freezes the front end at its initialisation
        (its parameters stop requiring gradients, so DDP and the optimizer
        skip them).

    Example
    -------
    >>> from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    >>> from summary_ssl.lobes.frontends import FbankCNNFrontEnd
    >>> model = Wav2Vec2Encoder(
    ...     FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
    ...     ConformerEncoder(2, 32, 64, 4, kernel_size=3,
    ...                      attention_type="SummaryMixing"),
    ...     d_model=32,
    ... ).eval()
    >>> out = model(torch.randn(2, 16000), torch.tensor([1.0, 0.5]))
    >>> out["hidden_states"].shape  # (layers + 1, B, T, d_model)
    torch.Size([3, 2, 48, 32])
    >>> out["frame_lengths"].tolist()
    [48, 23]
    >>> out = model(torch.randn(2, 16000), torch.tensor([1.0, 0.5]),
    ...             output_hidden_states=[1])
    >>> out["hidden_states"].shape  # only the one asked for
    torch.Size([1, 2, 48, 32])
    """

    @records_init
    def __init__(
        self,
        frontend,
        encoder,
        d_model,
        dropout_input=0.1,
        positional_encoding="sinusoidal",
        feature_grad_mult=1.0,
    ):
        super().__init__()
        self.feature_grad_mult = float(feature_grad_mult)
        if not self.feature_grad_mult >= 0:
            raise ValueError(
                f"feature_grad_mult must be >= 0, not {feature_grad_mult!r}"
            )
        if positional_encoding not in POSITIONAL_ENCODINGS:
            raise ValueError(
                f"positional_encoding must be one of {POSITIONAL_ENCODINGS}, "
                f"not {positional_encoding!r}"
            )
        self.frontend = frontend
        if self.feature_grad_mult == 0:
            frontend.requires_grad_(False)
        self.encoder = encoder
        self.input_proj = nn.Linear(frontend.out_dim, d_model)
        self.dropout_input = nn.Dropout(dropout_input)
        self.mask_emb = nn.Parameter(torch.empty(d_model).uniform_())
        self.positions = None
        if positional_encoding == "sinusoidal":
            self.positions = SinusoidalPositions(d_model)

    @property
    def hidden_size(self):
        """Size of the hidden states."""
        return self.input_proj.out_features

    def forward(
        self,
        wavs,
        wav_lens,
        mask=None,
        output_hidden_states=True,
        channel_mask=None,
    ):
        """Encodes waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, N) waveforms.
        wav_lens : torch.Tensor
            (B,) relative lengths in (0, 1] (SpeechBrain convention).
        mask : torch.Tensor, optional
            (B, T) boolean, True = replace this frame by the mask embedding.
        output_hidden_states : bool or sequence of int
            True: return every hidden state (the encoder's input and each
            layer's output); a sequence of indices: only those, in that
            order (the full stack is never built); False: none.
        channel_mask : torch.Tensor, optional
            (B, d_model) boolean, True = zero this channel of the encoder's
            input in every frame (fairseq's ``mask_channel_*`` masking
            for fine-tuning, applied after the time mask).

        Returns
        -------
        dict
            ``latents`` (B, T, C) front-end output (quantiser input),
            ``features_pen`` (mean squared front-end output over real
            frames), ``context`` (B, T, d_model), ``padding`` (B, T)
            True = padding, ``frame_lengths`` (B,), and ``hidden_states``
            (layers + 1, B, T, d_model), or (indices, B, T, d_model) for
            a sequence of indices, when asked.
        """
        latents, frame_lengths = self.frontend(
            wavs, self.sample_lengths(wavs, wav_lens)
        )
        if self.feature_grad_mult not in (0.0, 1.0):
            latents = scale_grad(latents, self.feature_grad_mult)
        padding = padding_mask(frame_lengths, latents.shape[1])
        valid = (~padding).unsqueeze(-1)
        features_pen = (latents.float().pow(2) * valid).sum() / (
            valid.sum() * latents.shape[-1]
        ).clamp_min(1)
        x = self.dropout_input(self.input_proj(latents))
        if mask is not None:
            x = torch.where(mask.unsqueeze(-1), self.mask_emb.to(x.dtype), x)
        if channel_mask is not None:
            x = x.masked_fill(channel_mask.unsqueeze(1), 0.0)
        if self.positions is not None:
            x = x + self.positions(x)
        out = self.encoder(
            x,
            src_key_padding_mask=padding,
            output_hidden_states=bool(output_hidden_states),
        )
        result = {
            "latents": latents,
            "features_pen": features_pen,
            "context": out[0],
            "padding": padding,
            "frame_lengths": frame_lengths,
        }
        if output_hidden_states is True:
            result["hidden_states"] = torch.stack(out[2])
        elif output_hidden_states:
            chosen = [out[2][i] for i in output_hidden_states]
            # One state: a view of it, not a copy.
            result["hidden_states"] = (
                chosen[0].unsqueeze(0)
                if len(chosen) == 1
                else torch.stack(chosen)
            )
        return result


def scale_grad(x, scale):
    """``x`` in the forward pass, ``scale`` times its gradient backward.

    Example
    -------
    >>> x = torch.ones(3, requires_grad=True)
    >>> scale_grad(x, 0.1).sum().backward()
    >>> x.grad
    tensor([0.1000, 0.1000, 0.1000])
    """
    return x * scale + x.detach() * (1.0 - scale)
