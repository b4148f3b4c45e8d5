"""``torch.utils.flop_counter`` with a corrected grouped-convolution formula.

torch's own formula for ``aten.convolution_backward`` (torch 2.14) counts
the weight gradient of a grouped convolution as if it were dense: for the
Conformer's depthwise convolution (768 groups, kernel 31) that is 768 times
too many, about a third of a whole Conformer step. The benchmarks and the
budget planner's tests count FLOPs through :func:`flop_counter`, which
replaces that formula with :func:`conv_backward_flop`.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count


def conv_backward_flop(
    grad_out_shape,
    x_shape,
    w_shape,
    _bias,
    _stride,
    _padding,
    _dilation,
    transposed,
    _output_padding,
    _groups,
    output_mask,
    out_shape=None,
    **kwargs,
):
    """FLOPs of ``aten.convolution_backward``, grouped convolutions included.

    Each of the input and weight gradients takes as many multiply-adds as
    the forward convolution, whose formula (``w_shape`` holds the channels
    per group) is right for grouped convolutions too.

    Example
    -------
    >>> # depthwise conv, 8 channels, kernel 3, 10 frames: 2*8*3*10 forward
    >>> conv_backward_flop([1, 8, 10], [1, 8, 12], [8, 1, 3], None, [1],
    ...                    [0], [1], False, [0], 8, [True, True])
    960
    """
    forward = conv_flop_count(
        x_shape, w_shape, grad_out_shape, transposed=transposed
    )
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def flop_counter():
    """A silent ``FlopCounterMode`` with :func:`conv_backward_flop`.

    It counts matrix products, convolutions and SDPA (forward and
    backward) as torch does, except grouped-convolution gradients.

    Returns
    -------
    torch.utils.flop_counter.FlopCounterMode

    Example
    -------
    >>> conv = torch.nn.Conv1d(8, 8, 3, groups=8)
    >>> x = torch.randn(1, 8, 12, requires_grad=True)
    >>> with flop_counter() as counter:
    ...     conv(x).sum().backward()
    >>> counter.get_total_flops()  # forward 480, input + weight grads 960
    1440
    """
    return FlopCounterMode(
        display=False,
        custom_mapping={
            torch.ops.aten.convolution_backward: conv_backward_flop
        },
    )
