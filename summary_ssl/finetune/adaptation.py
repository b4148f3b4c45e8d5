"""One wrapper for the ways to adapt a pretrained encoder when fine-tuning.

``AdaptedEncoder(encoder, adaptation)`` takes an encoder rebuilt by
:func:`summary_ssl.pretrained.build_encoder` (a ``Wav2Vec2Encoder``) and
returns its final representation, adapted in one of four ways:

========  ==================================  ==========  ==============
mode      trained                             backbone    backbone mode
========  ==================================  ==========  ==============
full      every encoder parameter but the     with grad   follows
          front end (fairseq freezes the                  ``train()``
          feature extractor when fine-tuning)
frozen    nothing in the encoder              no_grad     always eval
lora      the LoRA adapters only              with grad   follows
          (:mod:`summary_ssl.finetune.lora`)              ``train()``
read      the READ side network only          no_grad     always eval
          (:mod:`summary_ssl.finetune.read`)
========  ==================================  ==========  ==============

Dropout. A frozen backbone (``frozen``, ``read``) stays in eval mode, as
:class:`summary_ssl.pretrained.FrozenSSLEncoder`: its dropout and
layerdrop would only add noise to features that no update can adapt to.
With ``lora`` the backbone's dropout stays as in training (as in the LoRA
paper and PEFT), since the adapters learn inside it; with ``full`` it is
ordinary fine-tuning. The time and channel masks (``mask``,
``channel_mask``) are applied in every mode: they are augmentation of the
encoder's input.

Authors
-------
* summary_ssl contributors 2026
"""

import contextlib
import copy
import logging

import torch
import torch.nn as nn

from summary_ssl.finetune.lora import add_lora, is_lora_parameter, merge_lora
from summary_ssl.finetune.read import ReadSideNetwork

logger = logging.getLogger(__name__)

ADAPTATIONS = ("full", "frozen", "lora", "read")


class AdaptedEncoder(nn.Module):
    """A pretrained encoder adapted by ``full``, ``frozen``, ``lora`` or
    ``read`` fine-tuning.

    Arguments
    ---------
    encoder : torch.nn.Module
        A ``Wav2Vec2Encoder`` (``frontend``, ``hidden_size``, and the call
        ``encoder(wavs, wav_lens, mask=, output_hidden_states=,
        channel_mask=)``). It is adapted in place (its ``requires_grad``
        flags, and LoRA wrappers for ``lora``).
    adaptation : str
        One of ``ADAPTATIONS``.
    lora_rank : int
        LoRA rank (``lora`` only).
    lora_alpha : float
        LoRA scale numerator, the update is scaled by
        ``lora_alpha / lora_rank`` (``lora`` only).
    lora_targets : sequence of str, optional
        fnmatch patterns of the modules to adapt (``lora`` only); every
        linear of the encoder's layers by default, see
        :func:`summary_ssl.finetune.lora.find_lora_targets`.
    read_hidden : int
        Hidden size of the READ side network (``read`` only).
    read_cell, read_aggregate : str
        The side network's ``cell`` and ``aggregate`` (``read`` only; see
        :class:`~summary_ssl.finetune.read.ReadSideNetwork`).
    time_masking : bool
        Whether the fine-tuning masks time steps (fairseq's ``mask_prob``
        > 0), which are replaced by the encoder's mask embedding. Without
        it (``full`` only) the embedding takes no part and is not trained:
        DDP would otherwise wait for its gradient.

    Example
    -------
    >>> from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    >>> from summary_ssl.lobes.frontends import FbankCNNFrontEnd
    >>> from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
    >>> def encoder():
    ...     return Wav2Vec2Encoder(
    ...         FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
    ...         ConformerEncoder(2, 32, 64, 4, kernel_size=3,
    ...                          attention_type="SummaryMixing-fast"),
    ...         d_model=32,
    ...     )
    >>> model = AdaptedEncoder(encoder(), "lora", lora_rank=4)
    >>> feats, lens = model(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    >>> feats.shape, lens.tolist(), model.out_dim
    (torch.Size([2, 23, 32]), [23, 10], 32)
    >>> model.trainable_parameters()
    6144
    >>> AdaptedEncoder(encoder(), "frozen").trainable_parameters()
    0
    >>> AdaptedEncoder(encoder(), "partial")
    Traceback (most recent call last):
    ...
    ValueError: Unknown adaptation 'partial'; valid: full, frozen, lora, read
    """

    def __init__(
        self,
        encoder,
        adaptation,
        lora_rank=8,
        lora_alpha=16,
        lora_targets=None,
        read_hidden=128,
        read_cell="rnn",
        read_aggregate="last",
        time_masking=True,
    ):
        super().__init__()
        if adaptation not in ADAPTATIONS:
            raise ValueError(
                f"Unknown adaptation {adaptation!r}; valid: "
                + ", ".join(ADAPTATIONS)
            )
        self.adaptation = adaptation
        self.encoder = encoder
        self.out_dim = encoder.hidden_size
        self.side = None
        self.lora_report = None
        self._transformer_frozen = False
        if adaptation == "full":
            frontend = getattr(encoder, "frontend", None)
            if frontend is None:
                raise ValueError(
                    "adaptation 'full' freezes the encoder's front end, but "
                    f"{type(encoder).__name__} has no `frontend`"
                )
            encoder.requires_grad_(True)
            frontend.requires_grad_(False)
            if not time_masking:
                encoder.mask_emb.requires_grad_(False)
        else:
            encoder.requires_grad_(False)
        if adaptation == "lora":
            self.lora_report = add_lora(
                encoder, lora_rank, lora_alpha, lora_targets
            )
        elif adaptation == "read":
            self.side = ReadSideNetwork(
                encoder.hidden_size,
                read_hidden,
                cell=read_cell,
                aggregate=read_aggregate,
            )
        if self.backbone_is_frozen:
            encoder.eval()
        logger.info(
            "Encoder adaptation %r: %d trainable parameters",
            adaptation,
            self.trainable_parameters(),
        )

    @property
    def backbone_is_frozen(self):
        """Whether the backbone runs under no_grad in eval mode."""
        return self.adaptation in ("frozen", "read")

    def train(self, mode=True):
        """Sets the training mode; a frozen backbone stays in eval mode."""
        super().train(mode)
        if self.backbone_is_frozen:
            self.encoder.eval()
        return self

    def set_encoder_frozen(self, frozen):
        """fairseq's ``freeze_finetune_updates``: only the head trains.

        While frozen, whatever the adaptation trains (the encoder for
        ``full``, its LoRA adapters for ``lora``, the side network for
        ``read``) runs under ``torch.no_grad()``, in its usual mode, so it
        gets no gradient and the optimizer leaves it alone; the front end
        stays frozen throughout, and ``frozen`` is frozen anyway. The
        ``requires_grad`` flags are not touched, so an optimizer built
        during the frozen phase still holds every parameter a run trains.

        Arguments
        ---------
        frozen : bool
            Freeze (True) or release (False) the adapted encoder.
        """
        self._transformer_frozen = bool(frozen)

    @property
    def encoder_frozen(self):
        """Whether the encoder gets no gradient in the next forward."""
        return self.backbone_is_frozen or self._transformer_frozen

    def forward(self, wavs, wav_lens, mask=None, channel_mask=None):
        """Encodes waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, N) waveforms.
        wav_lens : torch.Tensor
            (B,) relative lengths in (0, 1].
        mask : torch.Tensor, optional
            (B, T) boolean, True = replace this frame by the encoder's mask
            embedding (time masking).
        channel_mask : torch.Tensor, optional
            (B, D) boolean, True = zero this channel of the encoder's input.

        Returns
        -------
        features : torch.Tensor
            (B, T, D) the final representation, zero on padded frames.
        frame_lengths : torch.Tensor
            (B,) absolute lengths in frames (frame ``t`` of utterance ``b``
            is padding when ``t >= frame_lengths[b]``).
        """
        read = self.side is not None
        no_grad = torch.no_grad() if self.encoder_frozen else None
        with no_grad or contextlib.nullcontext():
            out = self.encoder(
                wavs,
                wav_lens,
                mask=mask,
                output_hidden_states=read,
                channel_mask=channel_mask,
            )
        features = out["context"]
        if read:
            side_no_grad = torch.no_grad() if self._transformer_frozen else None
            with side_no_grad or contextlib.nullcontext():
                features = self.side(
                    out["hidden_states"], features, out["padding"]
                )
        return features, out["frame_lengths"]

    def trainable_parameters(self):
        """Number of parameters that require gradients."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def named_backbone_parameters(self):
        """(name, parameter) of the encoder's own parameters: not the LoRA
        adapters, nor the READ side network (names as in ``encoder``)."""
        for name, param in self.encoder.named_parameters():
            if not is_lora_parameter(name):
                yield name, param

    def backbone_parameters(self):
        """The encoder's own parameters (see
        :meth:`named_backbone_parameters`)."""
        for _, param in self.named_backbone_parameters():
            yield param

    def export_state(self, merge_lora=True):
        """A copy of the encoder to export, and what it holds.

        Arguments
        ---------
        merge_lora : bool
            ``lora``: fold the adapters into the weights, so the copy is
            the un-adapted architecture (loads into a freshly built
            encoder, exports with :func:`summary_ssl.pretrained.
            export_encoder`); otherwise the wrappers are kept.

        Returns
        -------
        encoder : torch.nn.Module
            A deep copy (this module keeps training unchanged).
        note : str
            One line saying what the copy is.
        """
        if self.adaptation == "lora" and merge_lora:
            return (
                _merge(self.encoder),
                "LoRA merged into the weights: the un-adapted architecture",
            )
        notes = {
            "full": "the fine-tuned encoder",
            "frozen": "the pretrained encoder, unchanged",
            "lora": "the encoder with its LoRA wrappers (state-dict keys "
            "differ from the un-adapted encoder's)",
            "read": "the pretrained encoder, unchanged: the READ correction "
            "lives in the side network (`side`), which this copy lacks",
        }
        return copy.deepcopy(self.encoder), notes[self.adaptation]


#: merge_lora under another name: export_state's argument shadows it.
_merge = merge_lora
