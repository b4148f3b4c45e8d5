"""Probe heads: frame-level and pooled, with an optional sequence encoder.

All take ``(x, lengths)`` with ``x`` (B, T, D) and SpeechBrain's relative
``lengths`` (B,), and use only each utterance's real frames.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
from speechbrain.lobes.models.ECAPA_TDNN import Classifier
from speechbrain.lobes.models.Xvector import Classifier as XvectorClassifier

from summary_ssl.nnet.padding import abs_lengths, masked_mean, padding_mask


def reverse_padded(x, frames):
    """Reverses each sequence within its real frames; padding stays last.

    Arguments
    ---------
    x : torch.Tensor
        (B, T, D)
    frames : torch.Tensor
        (B,) absolute lengths.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> x = torch.arange(4.0).view(1, 4, 1).repeat(2, 1, 1)
    >>> reverse_padded(x, torch.tensor([4, 3]))[..., 0]
    tensor([[3., 2., 1., 0.],
            [2., 1., 0., 3.]])
    """
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    last = frames.to(x.device)[:, None] - 1
    index = torch.where(steps <= last, last - steps, steps)
    return torch.gather(x, 1, index.unsqueeze(-1).expand_as(x))


class BiLSTM(nn.Module):
    """Bidirectional LSTM over each utterance's real frames.

    The backward direction reads each utterance reversed within its own
    length, so padding never reaches a real frame: the output equals that
    of packed sequences, but every call is a plain (fast) LSTM on padded
    tensors.

    Arguments
    ---------
    input_size : int
        Input features.
    hidden_size : int
        Hidden units per direction.
    num_layers : int
        Stacked layers.
    dropout : float
        Dropout between layers.
    output_size : int, optional
        A linear projection of the last layer's output to this size (the
        ``Linear(2 * hidden, hidden)`` of MP3S's SLURP BiLSTM head).

    Example
    -------
    >>> BiLSTM(8, 16, output_size=10).out_dim
    10
    >>> lstm = BiLSTM(8, 16)
    >>> x, lens = torch.randn(2, 5, 8), torch.tensor([1.0, 0.6])
    >>> out = lstm(x, lens)
    >>> out.shape, lstm.out_dim
    (torch.Size([2, 5, 32]), 32)
    >>> alone = lstm(x[1:, :3], torch.tensor([1.0]))  # padding-invariant
    >>> torch.allclose(out[1, :3], alone[0], atol=1e-6)
    True
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=2,
        dropout=0.0,
        output_size=None,
    ):
        super().__init__()
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for layer in range(num_layers):
            size = input_size if layer == 0 else 2 * hidden_size
            self.forward_layers.append(
                nn.LSTM(size, hidden_size, batch_first=True)
            )
            self.backward_layers.append(
                nn.LSTM(size, hidden_size, batch_first=True)
            )
        self.dropout = nn.Dropout(dropout)
        self.projection = None
        self.out_dim = 2 * hidden_size
        if output_size is not None:
            self.projection = nn.Linear(2 * hidden_size, output_size)
            self.out_dim = output_size

    def forward(self, x, lengths):
        """(B, T, D) -> (B, T, out_dim); padded frames are zero."""
        frames = abs_lengths(lengths, x.shape[1])
        layers = zip(self.forward_layers, self.backward_layers)
        for i, (fwd, bwd) in enumerate(layers):
            if i > 0:
                x = self.dropout(x)
            out_fwd, _ = fwd(x)
            out_bwd, _ = bwd(reverse_padded(x, frames))
            x = torch.cat([out_fwd, reverse_padded(out_bwd, frames)], dim=-1)
        if self.projection is not None:
            x = self.projection(x)
        valid = ~padding_mask(frames, x.shape[1])
        return x * valid.unsqueeze(-1).to(x.dtype)


class FrameHead(nn.Module):
    """Frame-level outputs: optional encoder -> dropout -> linear.

    Arguments
    ---------
    input_size : int
        Input features.
    n_outputs : int
        Outputs per frame (e.g. CTC tokens).
    encoder : torch.nn.Module, optional
        Called as ``encoder(x, lengths)``; must have ``out_dim``.
    dropout : float
        Dropout before the output layer.

    Example
    -------
    >>> head = FrameHead(8, 5, encoder=BiLSTM(8, 4))
    >>> head(torch.randn(2, 6, 8), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 6, 5])
    """

    def __init__(self, input_size, n_outputs, encoder=None, dropout=0.0):
        super().__init__()
        self.encoder = encoder
        dim = input_size if encoder is None else encoder.out_dim
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(dim, n_outputs)

    def forward(self, x, lengths):
        """(B, T, D) -> (B, T, n_outputs) logits."""
        if self.encoder is not None:
            x = self.encoder(x, lengths)
        return self.output(self.dropout(x))


class PooledHead(nn.Module):
    """Utterance-level outputs: optional encoder -> mean over real frames
    -> dropout -> linear. With no encoder this is MP3S's linear probe.

    Arguments
    ---------
    input_size : int
        Input features.
    n_outputs : int
        Outputs (classes).
    encoder : torch.nn.Module, optional
        Called as ``encoder(x, lengths)``; must have ``out_dim``.
    dropout : float
        Dropout before the output layer.
    bias : bool
        Whether the output layer has a bias (MP3S's has none).
    zero_init : bool
        Start the output layer at zero (as a logistic regression does)
        instead of PyTorch's random initialisation (MP3S's). A zero start
        leaves no random weight on directions the training data never
        moves (which whitened inputs amplify), and gives the learned layer
        weights of the layer sum no random push before the head has learnt
        anything.

    Example
    -------
    >>> head = PooledHead(8, 3)
    >>> x = torch.randn(2, 6, 8)
    >>> out = head(x, torch.tensor([1.0, 0.5]))
    >>> out.shape
    torch.Size([2, 3])
    >>> x[1, 3:] = 1e3  # padding does not matter
    >>> torch.equal(head(x, torch.tensor([1.0, 0.5]))[1], out[1])
    True
    >>> PooledHead(8, 3, zero_init=True)(x, torch.ones(2)).abs().max().item()
    0.0
    """

    def __init__(
        self,
        input_size,
        n_outputs,
        encoder=None,
        dropout=0.0,
        bias=True,
        zero_init=False,
    ):
        super().__init__()
        self.encoder = encoder
        dim = input_size if encoder is None else encoder.out_dim
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(dim, n_outputs, bias=bias)
        if zero_init:
            nn.init.zeros_(self.output.weight)
            if bias:
                nn.init.zeros_(self.output.bias)

    def forward(self, x, lengths):
        """(B, T, D) -> (B, n_outputs) logits."""
        if self.encoder is not None:
            x = self.encoder(x, lengths)
        return self.output(self.dropout(masked_mean(x, lengths)))


class EmbeddingClassifier(nn.Module):
    """An utterance embedder (x-vector, ECAPA) followed by a classifier.

    Arguments
    ---------
    embedding_model : torch.nn.Module
        Called as ``embedding_model(x, lengths)``, returns (B, 1, E) or
        (B, E); SpeechBrain's ``Xvector`` and ``ECAPA_TDNN`` pool over the
        real frames given by ``lengths``.
    emb_dim : int
        Embedding size ``E``.
    n_outputs : int
        Classes.
    classifier : str
        ``linear`` (a linear layer: logits), ``cosine`` (SpeechBrain's
        ECAPA ``Classifier``: cosine scores in [-1, 1], for an additive
        angular margin loss; MP3S's ECAPA heads) or ``xvector``
        (SpeechBrain's x-vector ``Classifier``: LeakyReLU, batch norm, one
        512-unit block, then log-probabilities; MP3S's x-vector head,
        whose recipe feeds these log-probabilities to an additive angular
        margin loss).
    cosine : bool, optional
        Shorthand for ``classifier="cosine"`` (kept for old YAML files).

    Example
    -------
    >>> from speechbrain.lobes.models.Xvector import Xvector
    >>> xvector = Xvector(in_channels=8, tdnn_channels=[16] * 4 + [32],
    ...                   lin_neurons=12)
    >>> model = EmbeddingClassifier(xvector, 12, 3, classifier="cosine")
    >>> x, lens = torch.randn(2, 20, 8), torch.tensor([1.0, 0.7])
    >>> model.embed(x, lens).shape, model(x, lens).shape
    (torch.Size([2, 12]), torch.Size([2, 3]))
    >>> model = EmbeddingClassifier(xvector, 12, 3, classifier="xvector")
    >>> probs = model(x, lens).exp()  # log-probabilities
    >>> torch.allclose(probs.sum(dim=-1), torch.ones(2))
    True
    """

    CLASSIFIERS = ("linear", "cosine", "xvector")

    def __init__(
        self,
        embedding_model,
        emb_dim,
        n_outputs,
        classifier="linear",
        cosine=None,
    ):
        super().__init__()
        if cosine is not None:
            classifier = "cosine" if cosine else "linear"
        if classifier not in self.CLASSIFIERS:
            raise ValueError(
                f"classifier must be one of {self.CLASSIFIERS}, "
                f"not {classifier!r}"
            )
        self.embedding_model = embedding_model
        if classifier == "cosine":
            self.classifier = Classifier(
                emb_dim, lin_blocks=0, out_neurons=n_outputs
            )
        elif classifier == "xvector":
            self.classifier = XvectorClassifier(
                input_shape=[None, None, emb_dim],
                lin_blocks=1,
                lin_neurons=512,
                out_neurons=n_outputs,
            )
        else:
            self.classifier = nn.Linear(emb_dim, n_outputs)

    def embed(self, x, lengths):
        """(B, T, D) -> (B, E) utterance embeddings."""
        emb = self.embedding_model(x, lengths)
        return emb.reshape(emb.shape[0], -1)

    def forward(self, x, lengths):
        """(B, T, D) -> (B, C) scores."""
        scores = self.classifier(self.embed(x, lengths).unsqueeze(1))
        return scores.reshape(scores.shape[0], -1)
