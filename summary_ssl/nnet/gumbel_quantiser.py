"""wav2vec 2.0's Gumbel-softmax product quantiser, for padded slots.

SpeechBrain's ``GumbelVectorQuantizer`` (fairseq's) is the model; this
subclass keeps its parameters (same checkpoint keys) and its forward
computation, with three changes for training speed and correctness:

* the code statistics (code perplexity, and the averaged probabilities of
  the diversity loss) are averaged over the VALID rows only, so padded
  slots (see :mod:`summary_ssl.lobes.augment.span_masking`) never count;
* the code vectors are looked up with a matrix product per group instead of
  SpeechBrain's ``(N, G*V, d)`` broadcast product, which materialises 2.5
  GB per step at the recipe's size;
* the Gumbel temperature is a (non-persistent) buffer updated in place, not
  a Python float read in ``forward``: ``torch.compile`` would recompile
  for every new value of a float.

It also returns the code each row used (the Gumbel sample's), so equal
targets are found by comparing codes rather than vectors.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn.functional as F
from speechbrain.nnet.quantisers import GumbelVectorQuantizer


class MaskedGumbelVectorQuantizer(GumbelVectorQuantizer):
    """Gumbel-softmax vector quantiser with row validity.

    Arguments
    ---------
    input_dim : int
        Input size.
    num_vars : int
        Codewords per group (V).
    temp_tuple : tuple of float
        Temperature (start, end, decay per optimizer step).
    groups : int
        Groups (G).
    vq_dim : int
        Output size (the G code vectors concatenated).

    Example
    -------
    >>> q = MaskedGumbelVectorQuantizer(16, 10, (2.0, 0.5, 0.999), 2, 8)
    >>> x = torch.randn(2, 5, 16)
    >>> valid = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]).bool()
    >>> out = q(x, valid)
    >>> out["x"].shape, out["codes"].shape
    (torch.Size([2, 5, 8]), torch.Size([2, 5]))
    >>> q.set_step(1000); round(float(q.temperature), 4)
    0.7354
    """

    def __init__(self, input_dim, num_vars, temp_tuple, groups, vq_dim):
        super().__init__(input_dim, num_vars, tuple(temp_tuple), groups, vq_dim)
        self.register_buffer(
            "temperature",
            torch.tensor(float(self.max_temp)),
            persistent=False,
        )

    def set_step(self, optimizer_step):
        """Anneals the temperature to ``optimizer_step`` (in place: no
        host-device synchronisation, no recompilation)."""
        self.update_temp(optimizer_step)
        self.temperature.fill_(self.curr_temp)

    def forward(self, x, valid=None):
        """Quantises ``x``.

        Arguments
        ---------
        x : torch.Tensor
            (B, N, input_dim).
        valid : torch.Tensor, optional
            (B, N) boolean: rows that count in the code statistics
            (default: all).

        Returns
        -------
        dict
            ``x`` (B, N, vq_dim) quantised vectors (straight-through Gumbel
            in training, hard codes in eval), ``codes`` (B, N) the code
            combination each row used (one integer for the G groups),
            ``code_perplexity`` (of the hard codes), ``prob_perplex`` (of
            the averaged softmax), ``num_vars`` (G * V), ``temp``.
        """
        B, N, _ = x.shape
        G, V = self.groups, self.num_vars
        logits = self.weight_proj(x).view(B, N, G, V)
        if valid is None:
            weight = logits.new_ones(B, N, dtype=torch.float32)
        else:
            weight = valid.to(torch.float32)
        weight = weight[..., None, None]
        rows = weight.sum().clamp_min(1.0)

        hard_idx = logits.argmax(dim=-1)  # (B, N, G)
        # (not F.one_hot: it checks the indices' range on the host)
        hard = torch.zeros_like(logits, dtype=torch.float32)
        hard.scatter_(-1, hard_idx.unsqueeze(-1), 1.0)
        hard_probs = (hard * weight).sum(dim=(0, 1)) / rows  # (G, V)
        avg_probs = (torch.softmax(logits.float(), dim=-1) * weight).sum(
            dim=(0, 1)
        ) / rows

        if self.training:
            onehot = F.gumbel_softmax(
                logits.float(), tau=self.temperature, hard=True
            )
            used = onehot.argmax(dim=-1)
        else:
            onehot, used = hard, hard_idx
        # sum_v onehot[g, v] * vars[g, v, :], as G matrix products
        codebook = self.vars.view(G, V, -1)
        onehot = onehot.to(codebook.dtype)
        out = torch.einsum("bngv,gvd->bngd", onehot, codebook)
        radix = V ** torch.arange(G, device=x.device)
        return {
            "x": out.reshape(B, N, -1),
            "codes": (used * radix).sum(dim=-1),
            "code_perplexity": _perplexity(hard_probs),
            "prob_perplex": _perplexity(avg_probs),
            "num_vars": G * V,
            "temp": self.temperature,
        }


def _perplexity(probs):
    """Sum over groups of exp(entropy) of (G, V) probabilities (fairseq's
    formula, with its 1e-7 floor)."""
    entropy = -torch.sum(probs * torch.log(probs + 1e-7), dim=-1)
    return torch.exp(entropy).sum()
