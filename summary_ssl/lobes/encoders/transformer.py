"""A padding-safe Transformer encoder with pluggable sequence mixers.

The wav2vec 2.0 / WavLM encoder layer that S3LSpeech stacks (public code,
``modules/external.py``): a convolutional positional embedding, then
layers of mixer + FFN, post-LN by default (``layer_norm_first=False`` in
S3LSpeech) or pre-LN. The mixer is any ``attention_type`` of
:mod:`summary_ssl.lobes.encoders.mixers` (FlashMHA, SummaryMixing,
SpeechBrain's attentions), built exactly as the Conformer builds it.
Constructor and forward follow
:class:`summary_ssl.lobes.encoders.conformer.ConformerEncoder`, so
either can be a stage of
:class:`summary_ssl.lobes.encoders.progressive.ProgressiveEncoder`.

SpeechBrain's ``TransformerEncoder`` builds its attention from a fixed
list of names (no SummaryMixing, no FlashMHA), hence this module.

Authors
-------
* summary_ssl contributors 2026
"""

import math

import torch.nn as nn

from summary_ssl.lobes.encoders.layer_stack import LayerStackEncoder
from summary_ssl.lobes.encoders.mixers import (
    build_mixer,
    check_attention_type,
    self_mix,
)
from summary_ssl.utils.config import records_init


class ConvPositionalEmbedding(nn.Module):
    """wav2vec 2.0's convolutional relative positional embedding.

    ``x + GELU(conv(x))`` with a wide grouped, weight-normalised
    convolution over time. Padded frames are zeroed before the
    convolution, so a padded batch gives each utterance the output it
    gives alone.

    Arguments
    ---------
    d_model : int
        Channels.
    kernel_size : int
        Width in frames (wav2vec 2.0 and S3LSpeech: 128).
    groups : int
        Convolution groups (16).

    Example
    -------
    >>> import torch
    >>> pos = ConvPositionalEmbedding(32, kernel_size=8, groups=4)
    >>> pos(torch.randn(2, 20, 32)).shape
    torch.Size([2, 20, 32])
    """

    def __init__(self, d_model, kernel_size=128, groups=16):
        super().__init__()
        conv = nn.Conv1d(
            d_model,
            d_model,
            kernel_size,
            padding=kernel_size // 2,
            groups=groups,
        )
        std = math.sqrt(4.0 / (kernel_size * d_model))
        nn.init.normal_(conv.weight, mean=0.0, std=std)
        nn.init.zeros_(conv.bias)
        self.conv = nn.utils.parametrizations.weight_norm(
            conv, name="weight", dim=2
        )
        self.trim = 1 if kernel_size % 2 == 0 else 0  # even kernels: T + 1

    def forward(self, x, padding=None):
        """(B, T, C) -> (B, T, C); ``padding`` (B, T) True = padding."""
        if padding is not None:
            x = x.masked_fill(padding.unsqueeze(-1), 0.0)
        pos = self.conv(x.transpose(1, 2))
        if self.trim:
            pos = pos[..., : -self.trim]
        return x + nn.functional.gelu(pos.transpose(1, 2))


class TransformerEncoderLayer(nn.Module):
    """Mixer + FFN with residuals, post-LN or pre-LN.

    Arguments
    ---------
    d_model, d_ffn, nhead, dropout, activation, layer_norm_first,
    attention_type, mixer_options
        As for :class:`TransformerEncoder`, which gives them to each layer.

    Example
    -------
    >>> import torch
    >>> layer = TransformerEncoderLayer(16, 32, 4,
    ...                                 attention_type="SummaryMixing")
    >>> out, attn = layer(torch.rand(2, 7, 16))
    >>> out.shape
    torch.Size([2, 7, 16])
    """

    def __init__(
        self,
        d_model,
        d_ffn,
        nhead,
        dropout=0.1,
        activation=nn.GELU,
        layer_norm_first=False,
        attention_type="FlashMHA",
        mixer_options=None,
    ):
        super().__init__()
        self.mha_layer = build_mixer(
            attention_type,
            d_model=d_model,
            nhead=nhead,
            d_ffn=d_ffn,
            dropout=dropout,
            mixer_options=mixer_options,
            activation=activation,
        )
        self.ffn = nn.Sequential(
            nn.Linear(d_model, d_ffn),
            activation(),
            nn.Linear(d_ffn, d_model),
        )
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm_first = layer_norm_first

    def _mix(self, x, src_mask, padding, pos_embs):
        out, attention = self_mix(
            self.mha_layer, x, src_mask, padding, pos_embs
        )
        return self.dropout(out), attention

    def forward(
        self, x, src_mask=None, src_key_padding_mask=None, pos_embs=None
    ):
        """Runs the layer on ``x`` (B, T, d_model); arguments and results
        follow the layer protocol of
        :mod:`summary_ssl.lobes.encoders.layer_stack`."""
        padding = src_key_padding_mask
        if self.layer_norm_first:
            h, attention = self._mix(self.norm1(x), src_mask, padding, pos_embs)
            x = x + h
            x = x + self.dropout(self.ffn(self.norm2(x)))
        else:
            h, attention = self._mix(x, src_mask, padding, pos_embs)
            x = self.norm1(x + h)
            x = self.norm2(x + self.dropout(self.ffn(x)))
        return x, attention


class TransformerEncoder(LayerStackEncoder):
    """Stack of Transformer layers with a convolutional positional
    embedding, with the ConformerEncoder's signature.

    ``forward`` is :meth:`LayerStackEncoder.forward
    <summary_ssl.lobes.encoders.layer_stack.LayerStackEncoder.forward>`:
    the positional embedding (and, post-LN, the LayerNorm) and dropout,
    the layers, then (pre-LN) the final LayerNorm.

    Arguments
    ---------
    num_layers : int
        Number of layers.
    d_model : int
        Model size.
    d_ffn : int
        FFN hidden size.
    nhead : int
        Heads of the mixer.
    dropout : float
        Dropout after the positional embedding, on the layers' residual
        branches and in their mixers.
    activation : type
        Activation class of the FFNs (and of SummaryMixing, unless its
        ``mixer_options`` set one).
    layer_norm_first : bool
        Pre-LN layers (with a final LayerNorm) instead of post-LN layers
        (with a LayerNorm after the positional embedding); False (the
        default, as S3LSpeech) is post-LN.
    attention_type : str
        ``FlashMHA``, ``SummaryMixing`` (and its modes), or SpeechBrain's
        ``regularMHA``, ``RelPosMHAXL``, ``hypermixing``, ``RoPEMHA``.
    mixer_options : dict, optional
        Extra constructor arguments for the mixer.
    conv_pos_kernel : int
        Width of the convolutional positional embedding; 0 for none.
    conv_pos_groups : int
        Its groups.
    output_hidden_states : bool
        Also return the list of hidden states (see ``forward``).

    Example
    -------
    >>> import torch
    >>> enc = TransformerEncoder(2, 16, 32, 4, conv_pos_kernel=8,
    ...                          conv_pos_groups=4)
    >>> x = torch.rand(2, 11, 16)
    >>> padding = torch.arange(11)[None, :] >= torch.tensor([[11], [5]])
    >>> out, attn, hidden = enc(x, src_key_padding_mask=padding,
    ...                         output_hidden_states=True)
    >>> out.shape, len(hidden)
    (torch.Size([2, 11, 16]), 3)
    >>> float(out[1, 5:].detach().abs().sum())  # padded frames are zero
    0.0
    """

    @records_init
    def __init__(
        self,
        num_layers,
        d_model,
        d_ffn,
        nhead,
        dropout=0.1,
        activation=nn.GELU,
        layer_norm_first=False,
        attention_type="FlashMHA",
        mixer_options=None,
        conv_pos_kernel=128,
        conv_pos_groups=16,
        output_hidden_states=False,
    ):
        super().__init__()
        check_attention_type(attention_type)
        self.pos_conv = None
        if conv_pos_kernel:
            self.pos_conv = ConvPositionalEmbedding(
                d_model, conv_pos_kernel, conv_pos_groups
            )
        layers = (
            TransformerEncoderLayer(
                d_model,
                d_ffn,
                nhead,
                dropout=dropout,
                activation=activation,
                layer_norm_first=layer_norm_first,
                attention_type=attention_type,
                mixer_options=mixer_options,
            )
            for _ in range(num_layers)
        )
        self._build_stack(layers, d_model, attention_type, output_hidden_states)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm_first = layer_norm_first

    def _before_layers(self, src, padding):
        """Positional embedding, LayerNorm (post-LN layers), dropout."""
        x = src
        if self.pos_conv is not None:
            x = self.pos_conv(x, padding)
        if not self.layer_norm_first:
            x = self.norm(x)
        return self.dropout(x)

    def _after_layers(self, x):
        """The final LayerNorm, for pre-LN layers only."""
        return self.norm(x) if self.layer_norm_first else x
