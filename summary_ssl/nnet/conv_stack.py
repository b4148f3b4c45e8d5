"""A padding-aware stack of 1-D convolutions over time.

Each layer is conv -> dropout -> LayerNorm -> ReLU (the layer-norm mode of
wav2vec 2.0's and WavLM's ``ConvFeatureExtractionModel``, which S3LSpeech
uses for its subsampling convolutions and its predictor). Padded frames
are zeroed before every convolution, so a padded batch gives each
utterance the output it gives alone, and the output lengths come from the
layers' arithmetic.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
from speechbrain.dataio.dataio import length_to_mask

from summary_ssl.utils.config import records_init

PADDINGS = ("valid", "same")


class ConvStack(nn.Module):
    """1-D convolutions over (B, T, C) with exact output lengths.

    Arguments
    ---------
    input_size : int
        Input channels.
    layers : list of (int, int, int)
        ``(channels, kernel_size, stride)`` per layer.
    padding : str
        ``valid`` (no padding: ``T -> (T - k) // s + 1``, as S3LSpeech's
        subsampling) or ``same`` (stride 1, odd kernels only: ``T -> T``,
        as its predictor).
    dropout : float
        Dropout after each convolution.
    bias : bool
        Biases in the convolutions (S3LSpeech: none).

    Example
    -------
    >>> convs = ConvStack(8, [(16, 5, 2), (12, 5, 2), (12, 1, 1)])
    >>> x, lengths = convs(torch.randn(2, 100, 8), torch.tensor([100, 60]))
    >>> x.shape, lengths.tolist(), convs.out_dim
    (torch.Size([2, 22, 12]), [22, 12], 12)
    >>> float(x[1, 12:].detach().abs().sum())  # padding is zero
    0.0
    """

    @records_init
    def __init__(
        self, input_size, layers, padding="valid", dropout=0.0, bias=False
    ):
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}")
        self.specs = [tuple(int(v) for v in layer) for layer in layers]
        if padding == "same" and any(
            s != 1 or k % 2 == 0 for _, k, s in self.specs
        ):
            raise ValueError("padding='same' needs stride 1 and odd kernels")
        self.padding = padding
        self.convs, self.norms, self.out_dim = conv_norm_layers(
            input_size, self.specs, padding, bias
        )
        self.dropout = nn.Dropout(dropout)

    def output_lengths(self, lengths):
        """Output frames for ``lengths`` input frames (tensor or int)."""
        if self.padding == "same":
            return lengths
        for _, kernel, stride in self.specs:
            lengths = (lengths - kernel) // stride + 1
        return lengths

    def forward(self, x, lengths):
        """Applies the stack.

        Arguments
        ---------
        x : torch.Tensor
            (B, T, input_size)
        lengths : torch.Tensor
            (B,) real frames per utterance.

        Returns
        -------
        x : torch.Tensor
            (B, T', out_dim), zero on padded frames.
        lengths : torch.Tensor
            (B,) output lengths (0 for inputs shorter than the receptive
            field).
        """
        for conv, norm, (_, kernel, stride) in zip(
            self.convs, self.norms, self.specs
        ):
            x = _zero_padding(x, lengths)
            x = conv(x.transpose(1, 2)).transpose(1, 2)
            x = torch.relu(norm(self.dropout(x)))
            if self.padding == "valid":
                lengths = ((lengths - kernel) // stride + 1).clamp(min=0)
        return _zero_padding(x, lengths), lengths


def conv_norm_layers(input_size, specs, padding="valid", bias=False):
    """1-D convolutions over time, each with a LayerNorm of its output;
    the weights initialised as SpeechBrain's ``conv_init`` (Kaiming
    normal).

    Arguments
    ---------
    input_size, padding, bias
        As for :class:`ConvStack` (``same`` pads ``kernel_size // 2`` on
        each side).
    specs : iterable of (int, int, int)
        ``(channels, kernel_size, stride)`` per layer (``ConvStack``'s
        ``layers``).

    Returns
    -------
    convs : torch.nn.ModuleList
        The ``torch.nn.Conv1d`` layers, on (B, C, T).
    norms : torch.nn.ModuleList
        One ``torch.nn.LayerNorm`` per layer, on (B, T, C).
    out_dim : int
        The last layer's channels (``input_size`` for no layer).

    Example
    -------
    >>> convs, norms, out_dim = conv_norm_layers(8, [(16, 5, 2), (4, 3, 1)])
    >>> [conv.stride for conv in convs], out_dim
    ([(2,), (1,)], 4)
    """
    convs = nn.ModuleList()
    norms = nn.ModuleList()
    in_ch = input_size
    for out_ch, kernel, stride in specs:
        conv = nn.Conv1d(
            in_ch,
            out_ch,
            kernel,
            stride=stride,
            padding=kernel // 2 if padding == "same" else 0,
            bias=bias,
        )
        nn.init.kaiming_normal_(conv.weight)
        convs.append(conv)
        norms.append(nn.LayerNorm(out_ch))
        in_ch = out_ch
    return convs, norms, in_ch


def _zero_padding(x, lengths):
    """Zeroes frames at or beyond each utterance's length."""
    valid = length_to_mask(lengths, x.shape[1], dtype=torch.bool)
    return x.masked_fill(~valid.unsqueeze(-1), 0.0)
