"""READ: a small recurrent side network beside a frozen encoder.

READ (Wang et al. 2023, "READ: Recurrent Adaptation of Large
Transformers", arXiv 2305.15348) leaves the backbone untouched and runs it
without building an autograd graph. A small RNN reads the backbone's
hidden states, one per layer, and its final state is mapped to a
correction of the backbone's output. The recurrence runs over the layers
(depth), not over time: every frame is its own sequence of ``L + 1``
states. Only the side network is trained, and backpropagation never
enters the backbone, so training costs a forward pass of the backbone
plus the (small) side network::

    x_i   = LayerNorm(h_i[t])             h_i: hidden state i (input, then
    z_i   = W_down x_i                         each layer's output), frame t
    s_i   = RNN(z_i, s_{i-1})              i = 0 .. L, s_{-1} = 0
    out_t = context_t + W_up s_L          W_up = 0 at init
                     (or W_up mean_i s_i: ``aggregate="mean"``)

Design choices (written from the paper's description; no code of its
authors is used):

* one down-projection shared by all layers; each layer's state is first
  normalised (a LayerNorm without parameters), because the layers'
  scales differ widely and the RNN sees them one after the other;
* the cell is a plain (tanh) RNN by default, the paper's basic form;
  ``gru`` and ``lstm`` are offered as well;
* the up-projection (weight and bias) starts at zero, so before the first
  update the output is the backbone's output exactly;
* only the real frames go through the RNN: padding frames are left out
  (their correction is zero, and the backbone's output is already zero
  there).

Checked afterwards against a public copy of what reads as its authors'
code (an ``RNNAdapter`` with hydra configurations, repository not named
by the index we read it from), which differs in: its configurations use a
GRU of 256 (``cell="gru"``, ``hidden_size=256`` here); it averages the
RNN states over the layers (``aggregate="mean"``; ``last`` is an option
there too); it reads the layers' outputs only, not the encoder's input;
it normalises them by RMS with a learned scale; it has no separate
down-projection (the cell's input weights do it); its output projection
has the default initialisation. The two choices of the first two points
are options here; the defaults stay those of the measured table in the
CTC recipe's README.

Size: ``D * H + H`` (down) + the cell (``2 H^2 + 2 H`` for ``rnn``, three
times that for ``gru``, four for ``lstm``) + ``H * D + D`` (up). For a
base encoder (``D = 768``) and ``H = 128``: 230,528 parameters with
``rnn``, against ~95M in the backbone.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
AGGREGATES = ("last", "mean")


class ReadSideNetwork(nn.Module):
    """The READ side network: an RNN over a frozen encoder's layers.

    Arguments
    ---------
    input_size : int
        Size of the backbone's hidden states (``D``).
    hidden_size : int
        Size of the down-projection and of the RNN state (``H``).
    cell : str
        ``rnn`` (tanh), ``gru`` or ``lstm``.
    normalize : bool
        Normalise each hidden state over its features (no learned
        parameters) before the down-projection.
    aggregate : str
        What the up-projection reads: the RNN's ``last`` state (after
        the last layer), or the ``mean`` of its states over the layers.

    Example
    -------
    >>> side = ReadSideNetwork(16, hidden_size=8)
    >>> hidden = torch.randn(3, 2, 5, 16)  # (L + 1, B, T, D)
    >>> final = torch.randn(2, 5, 16)      # the backbone's output
    >>> padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    >>> out = side(hidden, final, padding)
    >>> out.shape, torch.equal(out, final)  # no correction at init
    (torch.Size([2, 5, 16]), True)
    >>> side.num_parameters()
    424
    """

    def __init__(
        self,
        input_size,
        hidden_size=128,
        cell="rnn",
        normalize=True,
        aggregate="last",
    ):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(
                f"Unknown READ cell {cell!r}; valid: {', '.join(CELLS)}"
            )
        if aggregate not in AGGREGATES:
            raise ValueError(
                f"Unknown READ aggregate {aggregate!r}; valid: "
                + ", ".join(AGGREGATES)
            )
        self.aggregate = aggregate
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.normalize = normalize
        self.down = nn.Linear(input_size, hidden_size)
        self.rnn = CELLS[cell](hidden_size, hidden_size)
        self.up = nn.Linear(hidden_size, input_size)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def num_parameters(self):
        """Number of parameters of the side network."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, hidden_states, final, padding=None):
        """Adds the side network's correction to ``final``.

        Arguments
        ---------
        hidden_states : torch.Tensor
            (L + 1, B, T, D) the backbone's hidden states (its input, then
            each layer's output), computed without gradient.
        final : torch.Tensor
            (B, T, D) the backbone's output, which is corrected.
        padding : torch.Tensor, optional
            (B, T) boolean, True = padding; those frames are not run
            through the RNN and get no correction.

        Returns
        -------
        torch.Tensor
            (B, T, D) ``final`` plus the correction.
        """
        if padding is None:
            padding = final.new_zeros(final.shape[:2], dtype=torch.bool)
        real = ~padding
        x = hidden_states[:, real]  # (L + 1, N, D): real frames only
        if self.normalize:
            x = F.layer_norm(x, x.shape[-1:])
        states, _ = self.rnn(self.down(x))  # (L + 1, N, H)
        state = states[-1] if self.aggregate == "last" else states.mean(0)
        delta = self.up(state)  # (N, D)
        correction = torch.zeros_like(final)
        correction[real] = delta.to(final.dtype)
        return final + correction
