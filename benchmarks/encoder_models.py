"""What the encoder microbenchmark runs: its encoders (SpeechBrain's
Conformer and ours, by name), their modes and precisions, their inputs,
and the FLOPs of a step by the budget planner's FLOP model
(``encoder_bench.py``).

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import math

import torch
import torch.nn as nn
from speechbrain.lobes.models.transformer.Conformer import (
    ConformerEncoder as SBConformerEncoder,
)
from speechbrain.nnet.attention import RelPosEncXL

from summary_ssl.budget.flops import FlopHooks
from summary_ssl.lobes.encoders.conformer import ConformerEncoder

# name -> (implementation, attention_type)
ENCODERS = {
    "sb-RelPosMHAXL": ("speechbrain", "RelPosMHAXL"),
    "sb-regularMHA": ("speechbrain", "regularMHA"),
    "sb-RoPEMHA": ("speechbrain", "RoPEMHA"),
    "SummaryMixing": ("ours", "SummaryMixing"),
    "SummaryMixing-lite": ("ours", "SummaryMixing-lite"),
    "SummaryMixing-fast": ("ours", "SummaryMixing-fast"),
    "FlashMHA": ("ours", "FlashMHA"),
    "ours-RoPEMHA": ("ours", "RoPEMHA"),
}
BASELINE = "sb-RoPEMHA"
# How a cell runs its encoder: eager, or torch.compile of each layer (one
# compilation shared by the layers) or of the whole encoder; "-dyn" with
# dynamic shapes (one compilation for every T, as training with dynamic
# batching would use it).
MODES = {
    "eager": None,
    "layer": ("layer", False),
    "layer-dyn": ("layer", True),
    "encoder": ("encoder", False),
}
DTYPES = {
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
    "fp32": torch.float32,
}
# Norm-wise relative error above which the guard warns (12 layers deep).
GUARD_TOL = {"bf16": 5e-2, "fp16": 1e-2, "fp32": 1e-4}


class EncoderUnderTest(nn.Module):
    """``(x, padding) -> output`` around either encoder.

    Arguments
    ---------
    encoder : torch.nn.Module
        SpeechBrain's or our ConformerEncoder.
    pos_enc : torch.nn.Module, optional
        ``RelPosEncXL`` for SpeechBrain's ``RelPosMHAXL`` (computed in the
        step, as SpeechBrain's TransformerASR does).
    """

    def __init__(self, encoder, pos_enc=None):
        super().__init__()
        self.encoder = encoder
        self.pos_enc = pos_enc

    def forward(self, x, padding):
        """Encodes ``x`` (B, T, d) with ``padding`` (B, T) True = padding."""
        pos_embs = self.pos_enc(x) if self.pos_enc is not None else None
        out = self.encoder(x, src_key_padding_mask=padding, pos_embs=pos_embs)
        return out[0]


def build_encoder(name, args):
    """Builds encoder ``name`` (a key of ``ENCODERS``) from the CLI sizes."""
    impl, attention_type = ENCODERS[name]
    common = dict(
        num_layers=args.layers,
        d_model=args.d_model,
        d_ffn=args.d_ffn,
        nhead=args.nhead,
        kernel_size=args.kernel,
        dropout=args.dropout,
        attention_type=attention_type,
    )
    if impl == "speechbrain":
        encoder = SBConformerEncoder(**common)
        pos_enc = None
        if attention_type == "RelPosMHAXL":
            pos_enc = RelPosEncXL(args.d_model)
        return EncoderUnderTest(encoder, pos_enc)
    options = None
    if attention_type == "FlashMHA":
        options = {"rotary": not args.flash_no_rotary}
    encoder = ConformerEncoder(**common, mixer_options=options)
    return EncoderUnderTest(encoder)


def make_lengths(T, batch, padded, seed):
    """Lengths uniform in [ceil(0.7 T), T], the first one T (seeded by T,
    so every encoder gets the same batch)."""
    if not padded or batch == 1:
        return [T] * batch
    gen = torch.Generator().manual_seed(seed * 100003 + T)
    low = math.ceil(0.7 * T)
    rest = torch.randint(low, T + 1, (batch - 1,), generator=gen)
    return [T] + rest.tolist()


def make_inputs(lengths, T, d, device, seed):
    """Random-normal input (B, T, d) needing grad, padding mask (True =
    padding, or None when no frame is padded) and a random output grad."""
    gen = torch.Generator(device="cpu").manual_seed(seed + 7 * T)
    B = len(lengths)
    x = torch.randn(B, T, d, generator=gen).to(device).requires_grad_(True)
    grad = torch.randn(B, T, d, generator=gen).to(device)
    lens = torch.tensor(lengths, device=device)
    padding = torch.arange(T, device=device)[None, :] >= lens[:, None]
    if not bool(padding.any()):
        padding = None
    return x, padding, grad


def step_flops(name, lengths, args):
    """FLOPs of one training step (forward + backward) of encoder ``name``
    on a batch of ``lengths``, by the budget planner's FLOP model
    (:mod:`summary_ssl.budget.flops`, applied to a meta-device forward):
    ``(useful, executed)``, useful with each utterance at its own length
    as if it ran alone, executed for the padded batch. The model is built
    with one layer, the others being identical to it."""
    one = argparse.Namespace(**{**vars(args), "layers": 1})
    with torch.device("meta"):
        model = build_encoder(name, one).train()

    def count(batch, frames):
        x = torch.empty(batch, frames, args.d_model, device="meta")
        with FlopHooks(model) as hooks:
            model(x.requires_grad_(True), None)
        if hooks.uncovered():
            raise ValueError(f"no FLOP formula for {hooks.uncovered()}")
        layer = hooks.forward("encoder.layers")
        layer += hooks.backward("encoder.layers")
        total = hooks.forward() + hooks.backward()
        return total + (args.layers - 1) * layer

    alone = {length: count(1, length) for length in set(lengths)}
    return sum(alone[n] for n in lengths), count(len(lengths), max(lengths))
