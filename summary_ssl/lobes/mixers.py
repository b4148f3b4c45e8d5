"""The registry of sequence mixers a Conformer layer can use.

``attention_type`` names a mixer: this project's SummaryMixing modes and
FlashMHA, or one of SpeechBrain's own attention types, which are built by
SpeechBrain's classes exactly as its Conformer builds them. Options that
belong to one mixer (SummaryMixing hidden sizes, rotary on or off, ...)
travel in ``mixer_options`` and go to that mixer's constructor only.

Authors
-------
* summary_ssl contributors 2026
"""

from speechbrain.nnet.attention import (
    MultiheadAttention,
    RelPosMHAXL,
    RoPEMHA,
)
from speechbrain.nnet.hypermixing import HyperMixing

from summary_ssl.nnet.attention import FlashMHA
from summary_ssl.nnet.summary_mixing import MODES as SUMMARY_MIXING_MODES
from summary_ssl.nnet.summary_mixing import SummaryMixing

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
