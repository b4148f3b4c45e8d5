"""A padding-safe Conformer encoder with pluggable sequence mixers.

Same constructor and forward as SpeechBrain's
``speechbrain.lobes.models.transformer.Conformer.ConformerEncoder``, plus
``mixer_options``, and two differences that are the reason this file
exists:

* SpeechBrain's ``ConvolutionModule`` masks padding only on its output,
  after the depthwise convolution, so from the second layer on the padded
  frames (no longer zero) leak into the last ``kernel_size // 2`` real
  frames of every shorter utterance. :class:`ConvolutionModule` here zeroes
  the padded frames right before the depthwise convolution, so a batch
  gives each utterance the same output as that utterance alone.
* the mixer is built by
  :func:`summary_ssl.lobes.encoders.mixers.build_mixer`, and
  an unknown ``attention_type`` fails when the encoder is built.

Authors
-------
* summary_ssl contributors 2026
"""

import torch.nn as nn
import torch.nn.functional as F
from speechbrain.nnet.activations import Swish

from summary_ssl.lobes.encoders.layer_stack import LayerStackEncoder
from summary_ssl.lobes.encoders.mixers import (
    build_mixer,
    check_attention_type,
    route_reference_keys,
    self_mix,
)
from summary_ssl.utils.config import records_init


class ConvolutionModule(nn.Module):
    """Conformer convolution module that keeps padding out of the conv.

    LayerNorm -> pointwise (2x) + GLU -> zero padding -> depthwise conv ->
    LayerNorm -> activation -> pointwise -> dropout. The pointwise
    convolutions are linears on (B, T, C), which avoids two transposes.

    Arguments
    ---------
    input_size : int
        Channels.
    kernel_size : int
        Depthwise kernel size (odd).
    bias : bool
        Biases in the convolutions.
    activation : type
        Activation class after the depthwise convolution.
    dropout : float
        Output dropout.
    causal : bool
        Left-only context for the depthwise convolution.

    Example
    -------
    >>> import torch
    >>> conv = ConvolutionModule(16, kernel_size=5)
    >>> x = torch.rand(2, 9, 16)
    >>> conv(x, torch.zeros(2, 9, 1, dtype=torch.bool)).shape
    torch.Size([2, 9, 16])
    """

    def __init__(
        self,
        input_size,
        kernel_size=31,
        bias=True,
        activation=Swish,
        dropout=0.0,
        causal=False,
    ):
        super().__init__()
        self.causal = causal
        self.left_pad = kernel_size - 1 if causal else (kernel_size - 1) // 2
        self.right_pad = 0 if causal else kernel_size - 1 - self.left_pad
        self.layer_norm = nn.LayerNorm(input_size)
        self.pointwise_in = nn.Linear(input_size, 2 * input_size, bias=bias)
        self.depthwise = nn.Conv1d(
            input_size,
            input_size,
            kernel_size=kernel_size,
            groups=input_size,
            bias=bias,
        )
        self.after_conv = nn.Sequential(
            nn.LayerNorm(input_size),
            activation(),
            nn.Linear(input_size, input_size, bias=bias),
            nn.Dropout(dropout),
        )

    def forward(self, x, mask=None):
        """Applies the module.

        Arguments
        ---------
        x : torch.Tensor
            (B, T, C)
        mask : torch.Tensor, optional
            (B, T, 1) boolean, True = padding.

        Returns
        -------
        torch.Tensor
            (B, T, C); padded frames are zero.
        """
        out = F.glu(self.pointwise_in(self.layer_norm(x)), dim=-1)
        if mask is not None:
            out = out.masked_fill(mask, 0.0)
        out = F.pad(out.transpose(1, 2), (self.left_pad, self.right_pad))
        out = self.after_conv(self.depthwise(out).transpose(1, 2))
        if mask is not None:
            out = out.masked_fill(mask, 0.0)
        return out


def feed_forward(d_model, d_ffn, activation, dropout):
    """Pre-LN FFN used twice per Conformer layer (macaron style).

    SpeechBrain's ``PositionalwiseFeedForward`` permutes (B, T, C) to
    (T, B, C) and back around its linears; the permutes buy nothing for
    frame-wise layers, so this is a plain ``nn.Sequential``.

    Arguments
    ---------
    d_model : int
        Input and output size.
    d_ffn : int
        Hidden size.
    activation : type
        Activation class.
    dropout : float
        Dropout after the activation and after the output.

    Returns
    -------
    torch.nn.Sequential

    Example
    -------
    >>> import torch
    >>> feed_forward(8, 32, nn.SiLU, 0.0)(torch.rand(2, 3, 8)).shape
    torch.Size([2, 3, 8])
    """
    return nn.Sequential(
        nn.LayerNorm(d_model),
        nn.Linear(d_model, d_ffn),
        activation(),
        nn.Dropout(dropout),
        nn.Linear(d_ffn, d_model),
        nn.Dropout(dropout),
    )


class ConformerEncoderLayer(nn.Module):
    """One Conformer layer: FFN/2, mixer, convolution, FFN/2, LayerNorm.

    Arguments
    ---------
    d_model, d_ffn, nhead, kernel_size, kdim, vdim, activation, bias,
    dropout, causal, attention_type, mixer_options
        As for :class:`ConformerEncoder`, which gives them to each layer.

    Example
    -------
    >>> import torch
    >>> layer = ConformerEncoderLayer(16, 32, 4, kernel_size=3,
    ...                               attention_type="SummaryMixing")
    >>> out, attn = layer(torch.rand(2, 7, 16))
    >>> out.shape
    torch.Size([2, 7, 16])
    """

    def __init__(
        self,
        d_model,
        d_ffn,
        nhead,
        kernel_size=31,
        kdim=None,
        vdim=None,
        activation=Swish,
        bias=True,
        dropout=0.0,
        causal=False,
        attention_type="RelPosMHAXL",
        mixer_options=None,
    ):
        super().__init__()
        self.mha_layer = build_mixer(
            attention_type,
            d_model=d_model,
            nhead=nhead,
            d_ffn=d_ffn,
            dropout=dropout,
            kdim=kdim,
            vdim=vdim,
            causal=causal,
            mixer_options=mixer_options,
            activation=activation,
        )
        self.convolution_module = ConvolutionModule(
            d_model, kernel_size, bias, activation, dropout, causal=causal
        )
        self.ffn_module1 = feed_forward(d_model, d_ffn, activation, dropout)
        self.ffn_module2 = feed_forward(d_model, d_ffn, activation, dropout)
        # eps as SpeechBrain's (and the reference SummaryMixing) Conformer
        # layer: speechbrain.nnet.normalization.LayerNorm's default.
        self.norm1 = nn.LayerNorm(d_model, eps=1e-5)
        self.norm2 = nn.LayerNorm(d_model, eps=1e-5)

    def forward(
        self,
        x,
        src_mask=None,
        src_key_padding_mask=None,
        pos_embs=None,
        dynchunktrain_config=None,
    ):
        """Runs the layer on ``x`` (B, T, d_model).

        Arguments and results follow the layer protocol of
        :mod:`summary_ssl.lobes.encoders.layer_stack`;
        ``dynchunktrain_config`` (SpeechBrain's streaming training) is
        not supported and must be None.
        """
        if dynchunktrain_config is not None:
            raise NotImplementedError(
                "summary_ssl's ConformerEncoderLayer has no dynamic chunk "
                "training; use SpeechBrain's Conformer for streaming"
            )
        conv_mask = None
        if src_key_padding_mask is not None:
            conv_mask = src_key_padding_mask.unsqueeze(-1)
        x = x + 0.5 * self.ffn_module1(x)
        h, attention = self_mix(
            self.mha_layer,
            self.norm1(x),
            src_mask,
            src_key_padding_mask,
            pos_embs,
        )
        x = x + h
        x = x + self.convolution_module(x, conv_mask)
        x = self.norm2(x + 0.5 * self.ffn_module2(x))
        return x, attention


class ConformerEncoder(LayerStackEncoder):
    """Conformer encoder, a drop-in for SpeechBrain's ``ConformerEncoder``.

    ``forward`` is :meth:`LayerStackEncoder.forward
    <summary_ssl.lobes.encoders.layer_stack.LayerStackEncoder.forward>`:
    the layers, then the final LayerNorm.

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
    kernel_size : int
        Depthwise convolution kernel size.
    kdim : int, optional
        Key size (``regularMHA`` only).
    vdim : int, optional
        Value size (``regularMHA`` only).
    activation : type
        Activation class of the FFNs and the convolution modules (and of
        SummaryMixing, unless its ``mixer_options`` set one).
    bias : bool
        Biases in the convolution modules.
    dropout : float
        Dropout rate.
    causal : bool
        Causal convolutions (and future masking in ``RelPosMHAXL``).
    attention_type : str
        ``SummaryMixing``, ``SummaryMixing-lite``, ``SummaryMixing-fast``,
        ``SummaryMixing-expdecay``, ``FlashMHA``, or SpeechBrain's
        ``regularMHA``, ``RelPosMHAXL``, ``hypermixing``, ``RoPEMHA``.
    output_hidden_states : bool
        Also return the list of every layer's output (the input first).
    layerdrop_prob : float
        Probability of skipping each layer in training. A skipped layer
        still adds ``0 * sum(params)`` to the output, so DDP sees a
        gradient for every parameter and needs no
        ``find_unused_parameters``.
    mixer_options : dict, optional
        Extra constructor arguments for the mixer (e.g.
        ``{"rotary": True}`` for FlashMHA, branch sizes for SummaryMixing).
    local_proj_hid_dim, local_proj_out_dim, summary_hid_dim, summary_out_dim,
    mode, use_layernorm : optional
        The reference SummaryMixing implementation's encoder keys, so its
        YAMLs load by changing only the class path: they go to the mixer as
        if given in ``mixer_options``, and ``mode`` picks the SummaryMixing
        variant when ``attention_type`` is ``SummaryMixing`` (see
        :func:`summary_ssl.lobes.encoders.mixers.route_reference_keys`).
        Sizes not given default to ``d_model``.

    Example
    -------
    >>> import torch
    >>> enc = ConformerEncoder(2, 16, 32, 4, kernel_size=3,
    ...                        attention_type="FlashMHA",
    ...                        output_hidden_states=True)
    >>> x = torch.rand(3, 11, 16)
    >>> padding = torch.arange(11)[None, :] >= torch.tensor([[11], [8], [2]])
    >>> out, attn, hidden = enc(x, src_key_padding_mask=padding)
    >>> out.shape, len(hidden)
    (torch.Size([3, 11, 16]), 3)
    >>> float(out[2, 2:].detach().abs().sum())  # padded frames are zero
    0.0
    """

    @records_init
    def __init__(
        self,
        num_layers,
        d_model,
        d_ffn,
        nhead,
        kernel_size=31,
        kdim=None,
        vdim=None,
        activation=Swish,
        bias=True,
        dropout=0.0,
        causal=False,
        attention_type="RelPosMHAXL",
        output_hidden_states=False,
        layerdrop_prob=0.0,
        mixer_options=None,
        local_proj_hid_dim=None,
        local_proj_out_dim=None,
        summary_hid_dim=None,
        summary_out_dim=None,
        mode=None,
        use_layernorm=None,
    ):
        super().__init__()
        check_attention_type(attention_type)
        attention_type, mixer_options = route_reference_keys(
            attention_type,
            mixer_options,
            dict(
                local_proj_hid_dim=local_proj_hid_dim,
                local_proj_out_dim=local_proj_out_dim,
                summary_hid_dim=summary_hid_dim,
                summary_out_dim=summary_out_dim,
                mode=mode,
                use_layernorm=use_layernorm,
            ),
        )
        if not 0.0 <= layerdrop_prob < 1.0:
            raise ValueError(
                f"layerdrop_prob must be in [0, 1), got {layerdrop_prob}"
            )
        layers = (
            ConformerEncoderLayer(
                d_model=d_model,
                d_ffn=d_ffn,
                nhead=nhead,
                kernel_size=kernel_size,
                kdim=kdim,
                vdim=vdim,
                activation=activation,
                bias=bias,
                dropout=dropout,
                causal=causal,
                attention_type=attention_type,
                mixer_options=mixer_options,
            )
            for _ in range(num_layers)
        )
        self._build_stack(
            layers, d_model, attention_type, output_hidden_states, 1e-6
        )
        self.attention_type = attention_type
        self.layerdrop_prob = layerdrop_prob
