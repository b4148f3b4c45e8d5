"""An utterance-level contrastive term, beside the wav2vec 2.0 objective
(UniSpeech-SAT's utterance-wise contrastive loss; not in wav2vec 2.0).

Each utterance's first-half mean hidden state (the query) must pick its
own second half (the key) among the batch's, in both directions:

    L_utterance = (CE(sim, diag) + CE(sim^T, diag)) / 2,
    sim = head(mean first half) @ head(mean second half)^T / temperature

where ``head`` is a linear map followed by an L2 normalisation. The
pretraining loss becomes ``L_w2v2 + weight * L_utterance`` (the Brain adds
them, see :class:`~summary_ssl.brains.wav2vec2.W2V2Brain`).

With a bank (``bank_size > 0``), the keys are also those of the last
``bank_size`` training utterances. The bank stores their second halves'
mean front-end latents, not embeddings: each step their keys are made
again through the encoder's current input projection (which maps the
latents to hidden state 0) and the current head, so they never go stale
(a queue of stored embeddings, MoCo without its momentum encoder, made
training fail on real speech). That holds only if the latents themselves
do not move, so a bank needs the term on hidden state 0 (``layer=0``)
and a frozen front end (``feature_grad_mult=0``); the constructor
refuses anything else. The batch's own keys are then made from its
unmasked latents the same way.

Every shape is known from the batch's, the bank's write position stays
on the device, and slots not yet written are masked with ``-inf``: no
host-device synchronisation, one ``torch.compile`` graph.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class UtteranceContrast(nn.Module):
    """The utterance-level contrastive term (see the module docstring).

    Arguments
    ---------
    d_model : int
        Size of the hidden states it reads.
    proj_dim : int
        Size of the space the similarity is computed in.
    weight : float
        Weight of the term in the pretraining loss. 0 turns it off: no
        parameters, and the Brain neither runs it nor asks the encoder
        for hidden states.
    layer : int or None
        Hidden state it reads: None = the encoder's output (``context``),
        0 = the projected front end, i = the output of encoder layer i.
    temperature : float
        Temperature of its cosine similarities.
    bank_size : int
        Also contrast against the last this many training utterances
        (0: the batch's only). Needs ``layer=0``, a frozen front end and
        ``latent_dim``.
    latent_dim : int, optional
        Size of the front-end latents the bank stores.
    feature_grad_mult : float
        The encoder's (``Wav2Vec2Encoder``): 0 = frozen front end, which
        a bank needs.
    num_layers : int, optional
        Encoder layers, to check ``layer`` against (not checked if None).

    Example
    -------
    >>> term = UtteranceContrast(32, proj_dim=8, layer=1, num_layers=2)
    >>> hidden = torch.randn(3, 20, 32)
    >>> padding = torch.arange(20)[None] >= torch.tensor([[20], [15], [9]])
    >>> term(hidden, padding).shape
    torch.Size([])
    >>> UtteranceContrast(32, layer=1, bank_size=16, latent_dim=8)
    Traceback (most recent call last):
    ...
    ValueError: bank_size needs layer 0 (its keys are made from the ...
    """

    def __init__(
        self,
        d_model,
        proj_dim=256,
        weight=1.0,
        layer=None,
        temperature=0.1,
        bank_size=0,
        latent_dim=None,
        feature_grad_mult=1.0,
        num_layers=None,
    ):
        super().__init__()
        _check(weight, layer, temperature, bank_size, num_layers)
        if bank_size:
            if layer != 0:
                raise ValueError(
                    "bank_size needs layer 0 (its keys are made from the "
                    f"front-end latents), not layer {layer!r}"
                )
            if feature_grad_mult != 0:
                raise ValueError(
                    "bank_size needs a frozen front end (feature_grad_mult: "
                    "0): the bank's latents would go stale as it trains, "
                    f"not feature_grad_mult {feature_grad_mult!r}"
                )
            if latent_dim is None:
                raise ValueError("bank_size needs latent_dim")
        self.weight = float(weight)
        self.layer = layer
        self.temperature = temperature
        self.bank_size = int(bank_size)
        if self.weight > 0:
            self.proj = nn.Linear(d_model, proj_dim)
        if self.bank_size:
            # Buffers, so a checkpoint (and exact resume) keeps the bank.
            self.register_buffer("bank", torch.zeros(bank_size, latent_dim))
            self.register_buffer(
                "bank_filled", torch.zeros(bank_size, dtype=torch.bool)
            )
            self.register_buffer("bank_next", torch.zeros((), dtype=torch.long))

    def forward(self, hidden, padding=None, latents=None, key_proj=None):
        """Computes the term (unweighted).

        Arguments
        ---------
        hidden : torch.Tensor
            (B, T, d_model) the hidden state ``layer`` names.
        padding : torch.Tensor, optional
            (B, T) boolean, True = padding (default: no padding).
        latents : torch.Tensor, optional
            (B, T, latent_dim) unmasked front-end latents; needed with a
            bank.
        key_proj : torch.nn.Linear, optional
            The encoder's input projection (latents -> hidden state 0);
            needed with a bank.

        Returns
        -------
        torch.Tensor
            The scalar loss. In training with a bank, the batch's second
            halves then join the bank.
        """
        if not self.bank_size:
            return self._direct(hidden, padding)
        if latents is None or key_proj is None:
            raise ValueError("bank_size needs latents and key_proj")
        return self._banked(hidden, padding, latents, key_proj)

    def _direct(self, hidden, padding):
        """First-half vs second-half mean hidden states over the batch."""
        first, second = _halves(hidden, padding)
        with torch.autocast(hidden.device.type, enabled=False):
            a = self._head(_mean(hidden, first))
            b = self._head(_mean(hidden, second))
            return _symmetric_cross_entropy(a @ b.t() / self.temperature)

    def _banked(self, hidden, padding, latents, key_proj):
        """First-half mean hidden states (queries) against the second
        halves' keys, the batch's and the bank's, all made from front-end
        latents by ``key_proj``; in training, the batch's second halves
        then join the bank."""
        first, second = _halves(hidden, padding)
        weight, bias = key_proj.weight, key_proj.bias
        with torch.autocast(hidden.device.type, enabled=False):
            a = self._head(_mean(hidden, first))
            held = _mean(latents, second)  # (B, latent_dim)
            # A copy: the backward needs the bank as it was read.
            stored = torch.cat([held, self.bank.clone()])
            keys = self._head(F.linear(stored, weight.float(), bias.float()))
            sim = a @ keys.t() / self.temperature  # (B, B + bank)
            # Slots not yet written give -inf (no host sync).
            fresh = torch.zeros(len(a), dtype=torch.bool, device=a.device)
            empty = torch.cat([fresh, ~self.bank_filled])
            sim = sim.masked_fill(empty, -torch.inf)
            # Keys pick their query among the batch's only.
            target = torch.arange(len(a), device=sim.device)
            loss = 0.5 * (
                F.cross_entropy(sim, target)
                + F.cross_entropy(sim[:, : len(a)].t(), target)
            )
        if self.training:
            self._write(held.detach())
        return loss

    def _head(self, pooled):
        return F.normalize(self.proj(pooled), dim=-1)

    @torch.no_grad()
    def _write(self, held):
        """Writes the newest ``held`` (N, latent_dim) over the oldest
        slots; the write position stays on the device."""
        size = self.bank_size
        held = held[-size:]
        start = self.bank_next
        slots = (start + torch.arange(len(held), device=start.device)) % size
        self.bank.index_copy_(0, slots, held)
        self.bank_filled.index_fill_(0, slots, True)
        self.bank_next.copy_((start + len(held)) % size)


def _check(weight, layer, temperature, bank_size, num_layers):
    """Raises a ValueError for a bad setting of the term."""

    def whole(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if not (isinstance(weight, (int, float)) and weight >= 0):
        raise ValueError(f"weight must be a number >= 0, not {weight!r}")
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise ValueError(f"temperature must be > 0, not {temperature!r}")
    top = "" if num_layers is None else f"..{num_layers}"
    if layer is not None and not (
        whole(layer)
        and layer >= 0
        and (num_layers is None or layer <= num_layers)
    ):
        raise ValueError(
            f"layer must be null or a hidden-state index 0{top}, not {layer!r}"
        )
    if not (whole(bank_size) and bank_size >= 0):
        raise ValueError(
            f"bank_size must be a whole number >= 0, not {bank_size!r}"
        )
    if bank_size and not weight > 0:
        raise ValueError("bank_size needs weight > 0")


def _halves(x, padding):
    """(B, T) float masks of each utterance's first and second half of
    real frames."""
    B, T = x.shape[:2]
    if padding is None:
        padding = torch.zeros(B, T, dtype=torch.bool, device=x.device)
    valid = ~padding
    length = valid.sum(1, keepdim=True)
    t = torch.arange(T, device=x.device)[None]
    first = (valid & (2 * t < length)).float()
    second = (valid & (2 * t >= length)).float()
    return first, second


def _mean(x, m):
    """Mean of x (B, T, C) over the frames of the float mask m (B, T)."""
    count = m.sum(1, keepdim=True).clamp_min(1)
    return (x.float() * m[..., None]).sum(1) / count


def _symmetric_cross_entropy(sim):
    """Mean of the row-wise and column-wise cross-entropy of a square
    similarity matrix whose diagonal holds the positives."""
    target = torch.arange(len(sim), device=sim.device)
    return 0.5 * (
        F.cross_entropy(sim, target) + F.cross_entropy(sim.t(), target)
    )
