"""Progressive downsampling: encoder stage, strided convolution, stage.

Spiral (Huang et al., ICLR 2022) and S3LSpeech (Lugo & Vielzeuf 2024)
encode at 40 ms for the first layers, then halve the frame rate with a
strided convolution and run the remaining layers at 80 ms, which roughly
halves the cost of those layers. Either stage is any encoder with the
:class:`~summary_ssl.lobes.encoders.conformer.ConformerEncoder` signature:
our Conformer or
:class:`~summary_ssl.lobes.encoders.transformer.TransformerEncoder`,
with any ``attention_type``.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn

from summary_ssl.nnet.padding import padding_mask
from summary_ssl.utils.config import records_init


class ProgressiveEncoder(nn.Module):
    """``stage1`` -> ``downsample`` -> ``stage2``.

    Arguments
    ---------
    stage1 : torch.nn.Module
        First encoder (ConformerEncoder signature, ``layers`` attribute).
    downsample : summary_ssl.nnet.conv_stack.ConvStack
        Strided convolutions between the stages ("valid" padding).
    stage2 : torch.nn.Module
        Second encoder, at the downsampled rate.

    Example
    -------
    >>> from summary_ssl.lobes.encoders.transformer import TransformerEncoder
    >>> from summary_ssl.nnet.conv_stack import ConvStack
    >>> enc = ProgressiveEncoder(
    ...     TransformerEncoder(2, 16, 32, 4, conv_pos_kernel=0),
    ...     ConvStack(16, [(24, 5, 2), (16, 1, 1)]),
    ...     TransformerEncoder(1, 16, 32, 4, conv_pos_kernel=0),
    ... ).eval()
    >>> out = enc(torch.randn(2, 40, 16), torch.tensor([40, 25]),
    ...           output_hidden_states=True)
    >>> out["context"].shape, out["lengths"].tolist()
    (torch.Size([2, 18, 16]), [18, 11])
    >>> out["hidden_states"].shape  # 1 + 2 + 1 states, at stage 1's rate
    torch.Size([4, 2, 40, 16])
    """

    @records_init
    def __init__(self, stage1, downsample, stage2):
        super().__init__()
        self.stage1 = stage1
        self.downsample = downsample
        self.stage2 = stage2
        # Receptive field and stride of the downsampling, in stage-1
        # frames: stage-2 frame j covers stage-1 frames
        # [j * stride, j * stride + field).
        field, stride = 1, 1
        for _, kernel, step in downsample.specs:
            field += (kernel - 1) * stride
            stride *= step
        self.stride = stride
        self.centre = (field - 1) // 2

    @property
    def layers(self):
        """The layers of both stages, in order."""
        return list(self.stage1.layers) + list(self.stage2.layers)

    def output_lengths(self, lengths):
        """Stage-2 frames for ``lengths`` stage-1 frames."""
        return self.downsample.output_lengths(lengths)

    def forward(self, x, lengths, output_hidden_states=False):
        """Encodes a padded batch.

        Arguments
        ---------
        x : torch.Tensor
            (B, T, d_model) stage-1 input.
        lengths : torch.Tensor
            (B,) real frames per utterance.
        output_hidden_states : bool
            Also return every hidden state.

        Returns
        -------
        dict
            ``context`` (B, T2, d_model) stage-2 output, ``padding``
            (B, T2) True = padding, ``lengths`` (B,) its real frames;
            with ``output_hidden_states``, ``hidden_states`` (1 + layers,
            B, T, d_model): stage 1's input and layer outputs, then stage
            2's layer outputs brought back to stage 1's rate (each stage-2
            frame repeated over the stage-1 frames it is centred on), zero
            on padded frames.
        """
        padding = padding_mask(lengths, x.shape[1])
        out1 = self.stage1(
            x,
            src_key_padding_mask=padding,
            output_hidden_states=output_hidden_states,
        )
        y, lengths2 = self.downsample(out1[0], lengths)
        padding2 = padding_mask(lengths2, y.shape[1])
        out2 = self.stage2(
            y,
            src_key_padding_mask=padding2,
            output_hidden_states=output_hidden_states,
        )
        result = {"context": out2[0], "padding": padding2, "lengths": lengths2}
        if output_hidden_states:
            index = self._upsample_index(lengths2, x.shape[1])
            upsampled = [
                _gather_frames(h, index).masked_fill(padding.unsqueeze(-1), 0)
                for h in out2[2][1:]  # [0] is stage 2's input
            ]
            result["hidden_states"] = torch.stack(list(out1[2]) + upsampled)
        return result

    def _upsample_index(self, lengths2, max_len):
        """(B, max_len) stage-2 frame for each stage-1 frame, kept inside
        each utterance's real stage-2 frames."""
        frames = torch.arange(max_len, device=lengths2.device)
        index = (frames[None, :] - self.centre).div(
            self.stride, rounding_mode="floor"
        )
        last = (lengths2 - 1).clamp(min=0)[:, None]
        return torch.minimum(index.clamp(min=0), last)


def _gather_frames(x, index):
    """x[b, index[b, t]] for (B, T2, D) x and (B, T) index."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
