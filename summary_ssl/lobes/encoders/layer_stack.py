"""The loop over a stack of encoder layers, shared by the Conformer and
the Transformer encoders: layerdrop, and the hidden states that the
probes and the objectives read.

Authors
-------
* summary_ssl contributors 2026
"""

import torch

from summary_ssl.nnet.padding import zero_padding


def layerdrop_keep(num_layers, prob, training):
    """Which layers run this step (LayerDrop, Fan et al. 2020), or None
    when all do.

    The draws are host-side (Python bools from the CPU RNG): no device
    sync, and compiled layers stay whole graphs.

    Example
    -------
    >>> _ = torch.manual_seed(0)
    >>> layerdrop_keep(4, 0.5, training=True)
    [False, True, False, False]
    >>> layerdrop_keep(4, 0.5, training=False) is None
    True
    """
    if not training or prob <= 0.0:
        return None
    return [draw >= prob for draw in torch.rand(num_layers).tolist()]


def run_layers(layers, x, padding, output_hidden_states, keep=None, **kw):
    """Runs ``layers`` in turn on ``x``.

    Arguments
    ---------
    layers : iterable of torch.nn.Module
        Called as ``layer(x, src_key_padding_mask=padding, **kw)`` and
        returning ``(x, attention)``.
    x : torch.Tensor
        (B, T, D) the first layer's input.
    padding : torch.Tensor or None
        (B, T) True = padding; passed to every layer as given (testing
        whether it is all False would cost a host sync per batch).
    output_hidden_states : bool
        Collect the input and each layer's output.
    keep : list of bool, optional
        From :func:`layerdrop_keep`; a dropped layer passes its input on.
    **kw
        The layers' other arguments (``src_mask``, ``pos_embs``...).

    Returns
    -------
    x : torch.Tensor
        The last layer's output.
    attention_lst : list
        What each layer that ran returned as attention weights.
    hidden_state_lst : list of torch.Tensor
        With ``output_hidden_states``: the input and every layer's output,
        zero on padded frames, always ``len(layers) + 1`` of them; else
        empty.

    Example
    -------
    >>> class AddOne(torch.nn.Module):
    ...     def forward(self, x, src_key_padding_mask):
    ...         return x + 1, None
    >>> out, attn, hidden = run_layers([AddOne()] * 3, torch.zeros(1, 2, 1),
    ...                                None, True, keep=[True, False, True])
    >>> out.flatten().tolist(), len(attn), len(hidden)
    ([2.0, 2.0], 2, 4)
    """
    attention_lst = []
    hidden_state_lst = (
        [zero_padding(x, padding)] if output_hidden_states else []
    )
    for i, layer in enumerate(layers):
        if keep is not None and not keep[i]:
            x = x + _zero_touch(layer)
        else:
            x, attention = layer(x, src_key_padding_mask=padding, **kw)
            attention_lst.append(attention)
        if output_hidden_states:
            hidden_state_lst.append(zero_padding(x, padding))
    return x, attention_lst, hidden_state_lst


def _zero_touch(module):
    """0 * sum of the parameters: a zero that gives every parameter a
    (zero) gradient, so DDP's reducer is not left waiting for it."""
    return sum(p.sum() for p in module.parameters()) * 0.0
