"""The registry of sequence mixers a Conformer layer can use.

``attention_type`` names a mixer: this project's SummaryMixing modes and
FlashMHA, or one of SpeechBrain's own attention types, which are built by
SpeechBrain's classes exactly as its Conformer builds them. Options that
belong to one mixer (SummaryMixing hidden sizes, rotary on or off, ...)
travel in ``mixer_options`` and go to that mixer's constructor only.

Every mixer is called with SpeechBrain's attention signature,
``mixer(query, key, value, attn_mask=None, key_padding_mask=None,
pos_embs=None)``, and returns ``(output, attention)``: attention weights,
or None where a mixer has none (FlashMHA, SummaryMixing). The encoder
layers mix a sequence with itself, through :func:`self_mix`.

Authors
-------
* summary_ssl contributors 2026
"""

import logging

from speechbrain.nnet.attention import (
    MultiheadAttention,
    RelPosMHAXL,
    RoPEMHA,
)
from speechbrain.nnet.hypermixing import HyperMixing

from summary_ssl.nnet.attention import FlashMHA
from summary_ssl.nnet.summary_mixing import MODES as SUMMARY_MIXING_MODES
from summary_ssl.nnet.summary_mixing import SummaryMixing

logger = logging.getLogger(__name__)

SPEECHBRAIN_TYPES = ("regularMHA", "RelPosMHAXL", "hypermixing", "RoPEMHA")
ATTENTION_TYPES = SUMMARY_MIXING_MODES + ("FlashMHA",) + SPEECHBRAIN_TYPES


def check_attention_type(attention_type):
    """Raises a ValueError naming the valid types for an unknown one.

    Arguments
    ---------
    attention_type : str
        The name to check.

    Example
    -------
    >>> check_attention_type("FlashMHA")
    >>> check_attention_type("flash")
    Traceback (most recent call last):
    ...
    ValueError: Unknown attention_type 'flash'; valid: ...
    """
    if attention_type not in ATTENTION_TYPES:
        raise ValueError(
            f"Unknown attention_type {attention_type!r}; valid: "
            + ", ".join(ATTENTION_TYPES)
        )


#: Keys the reference SummaryMixing implementation (SamsungLabs, CC-BY-NC)
#: takes on its Conformer/Branchformer encoders rather than on the mixer.
REFERENCE_SUMMARY_MIXING_KEYS = (
    "local_proj_hid_dim",
    "local_proj_out_dim",
    "summary_hid_dim",
    "summary_out_dim",
    "mode",
    "use_layernorm",
)


def route_reference_keys(attention_type, mixer_options, reference_keys):
    """Moves reference-style SummaryMixing keys into ``mixer_options``.

    YAMLs written for the reference implementation pass the SummaryMixing
    sizes, ``mode`` and ``use_layernorm`` to the encoder itself, with
    ``attention_type: SummaryMixing`` and ``mode`` naming the variant.
    This gives the same mixer as the ``mixer_options`` form. With another
    ``attention_type`` the keys are ignored with a warning, as the
    reference ignores them.

    Arguments
    ---------
    attention_type : str
        The encoder's ``attention_type``.
    mixer_options : dict or None
        The encoder's ``mixer_options``.
    reference_keys : dict
        Key -> value for the keys of ``REFERENCE_SUMMARY_MIXING_KEYS``
        that were given (not None).

    Returns
    -------
    attention_type : str
        With ``mode`` applied (e.g. ``SummaryMixing-lite``).
    mixer_options : dict

    Example
    -------
    >>> route_reference_keys(
    ...     "SummaryMixing", None,
    ...     {"mode": "SummaryMixing-fast", "local_proj_out_dim": 64})
    ('SummaryMixing-fast', {'local_proj_out_dim': 64})
    >>> route_reference_keys("SummaryMixing", {"summary_hid_dim": [8]},
    ...                      {"summary_hid_dim": [16]})
    Traceback (most recent call last):
    ...
    ValueError: summary_hid_dim is given both on the encoder and in ...
    """
    options = dict(mixer_options or {})
    keys = {k: v for k, v in reference_keys.items() if v is not None}
    if not keys:
        return attention_type, options
    if attention_type not in SUMMARY_MIXING_MODES:
        logger.warning(
            "Ignoring %s: they only apply to SummaryMixing, and "
            "attention_type is %s",
            ", ".join(sorted(keys)),
            attention_type,
        )
        return attention_type, options
    mode = keys.pop("mode", None)
    if mode is not None:
        if mode not in SUMMARY_MIXING_MODES:
            raise ValueError(
                f"mode {mode!r} is not one of {SUMMARY_MIXING_MODES}"
            )
        if attention_type not in ("SummaryMixing", mode):
            raise ValueError(
                f"attention_type {attention_type!r} and mode {mode!r} "
                "disagree; give one of them"
            )
        attention_type = mode
    for key, value in keys.items():
        if key in options:
            raise ValueError(
                f"{key} is given both on the encoder and in mixer_options"
            )
        options[key] = value
    return attention_type, options


def build_mixer(
    attention_type,
    d_model,
    nhead,
    d_ffn,
    dropout=0.0,
    kdim=None,
    vdim=None,
    causal=False,
    mixer_options=None,
    activation=None,
):
    """Builds one mixer module with SpeechBrain's attention signature.

    Arguments
    ---------
    attention_type : str
        One of ``ATTENTION_TYPES``.
    d_model : int
        Model size.
    nhead : int
        Number of heads.
    d_ffn : int
        FFN size (HyperMixing sizes its hypernetwork with it).
    dropout : float
        Dropout; SummaryMixing uses it as ``global_dropout``.
    kdim : int, optional
        Key size (``regularMHA`` only).
    vdim : int, optional
        Value size (``regularMHA`` only).
    causal : bool
        Masks future positions in ``RelPosMHAXL``.
    mixer_options : dict, optional
        Extra keyword arguments for the mixer's constructor. SummaryMixing
        defaults its four branch sizes to ``d_model`` (as in Zhang et al.
        2024) unless they are given here.
    activation : type, optional
        The encoder's activation class. SummaryMixing uses it in its
        branches and combiner unless ``mixer_options`` sets another, as
        the reference Conformer passes its own (Swish) to SummaryMixing.

    Returns
    -------
    torch.nn.Module

    Example
    -------
    >>> mixer = build_mixer("SummaryMixing-fast", 16, 4, 32)
    >>> type(mixer).__name__, mixer.mode
    ('SummaryMixing', 'SummaryMixing-fast')
    >>> build_mixer("FlashMHA", 16, 4, 32, mixer_options={"rotary": True})
    FlashMHA(...)
    """
    check_attention_type(attention_type)
    options = dict(mixer_options or {})
    if attention_type in SUMMARY_MIXING_MODES:
        factory = SummaryMixing
        options.setdefault("local_proj_hid_dim", [d_model])
        options.setdefault("local_proj_out_dim", d_model)
        options.setdefault("summary_hid_dim", [d_model])
        options.setdefault("summary_out_dim", d_model)
        options.setdefault("global_dropout", dropout)
        if activation is not None:
            options.setdefault("activation", activation)
        fixed = dict(enc_dim=d_model, nhead=nhead, mode=attention_type)
    elif attention_type == "FlashMHA":
        factory = FlashMHA
        fixed = dict(nhead=nhead, d_model=d_model, dropout=dropout)
    elif attention_type == "regularMHA":
        factory = MultiheadAttention
        fixed = dict(
            nhead=nhead, d_model=d_model, dropout=dropout, kdim=kdim, vdim=vdim
        )
    elif attention_type == "RelPosMHAXL":
        factory = RelPosMHAXL
        fixed = dict(
            num_heads=nhead,
            embed_dim=d_model,
            dropout=dropout,
            mask_pos_future=causal,
        )
    elif attention_type == "hypermixing":
        factory = HyperMixing
        fixed = dict(
            input_output_dim=d_model,
            hypernet_size=d_ffn,
            tied=False,
            num_heads=nhead,
            fix_tm_hidden_size=False,
        )
    else:  # RoPEMHA
        factory = RoPEMHA
        fixed = dict(num_heads=nhead, embed_dim=d_model, dropout=dropout)
    clash = set(options) & set(fixed)
    if clash:
        raise ValueError(
            f"mixer_options {sorted(clash)} are set by the encoder for "
            f"{attention_type}; set them on the encoder instead"
        )
    try:
        return factory(**fixed, **options)
    except TypeError as error:
        raise ValueError(
            f"Bad mixer_options for attention_type {attention_type!r} "
            f"({factory.__name__}): {error}"
        ) from error


def self_mix(mixer, x, src_mask=None, key_padding_mask=None, pos_embs=None):
    """Runs a mixer of :func:`build_mixer` on ``x`` as query, key and value.

    Arguments
    ---------
    mixer : torch.nn.Module
        A mixer with SpeechBrain's attention signature.
    x : torch.Tensor
        (B, T, d_model)
    src_mask : torch.Tensor, optional
        (T, T) boolean, True = not allowed; the mixer's ``attn_mask``.
    key_padding_mask : torch.Tensor, optional
        (B, T) boolean, True = padding.
    pos_embs : torch.Tensor, optional
        Relative positions (``RelPosMHAXL``); other mixers ignore them.

    Returns
    -------
    output : torch.Tensor
        (B, T, d_model)
    attention : torch.Tensor or None
        What the mixer returned as attention weights.

    Example
    -------
    >>> import torch
    >>> mixer = build_mixer("FlashMHA", 16, 4, 32)
    >>> out, attention = self_mix(mixer, torch.rand(2, 5, 16))
    >>> out.shape, attention
    (torch.Size([2, 5, 16]), None)
    """
    return mixer(
        x,
        x,
        x,
        attn_mask=src_mask,
        key_padding_mask=key_padding_mask,
        pos_embs=pos_embs,
    )
