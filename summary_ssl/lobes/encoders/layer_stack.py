"""What the Conformer and the Transformer encoders share: the loop over
their layers (layerdrop, and the hidden states that the probes and the
objectives read), and :class:`LayerStackEncoder`, the base class that
gives both SpeechBrain's encoder ``forward``.

The layers of such a stack follow one protocol, documented here once: a
layer is called as ``layer(x, src_mask=..., src_key_padding_mask=...,
pos_embs=...)`` with the arguments of :meth:`LayerStackEncoder.forward`
(``x`` (B, T, d_model) is the previous layer's output), and returns
``(output, attention)``: the (B, T, d_model) output and what its mixer
returned as attention weights (None for the fused mixers).

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
from speechbrain.nnet.attention import RelPosEncXL

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


class LayerStackEncoder(nn.Module):
    """Base of the encoders that are a stack of layers with SpeechBrain's
    encoder ``forward``
    (:class:`~summary_ssl.lobes.encoders.conformer.ConformerEncoder`,
    :class:`~summary_ssl.lobes.encoders.transformer.TransformerEncoder`).

    A subclass builds its layers and calls :meth:`_build_stack`; it may
    override :meth:`_before_layers` (what turns ``src`` into the first
    layer's input) and :meth:`_after_layers` (the final step, by default
    the final LayerNorm). Layers follow the protocol of this module's
    docstring.

    Example
    -------
    >>> class AddOne(nn.Module):
    ...     def forward(self, x, src_key_padding_mask, src_mask, pos_embs):
    ...         return x + 1, None
    >>> class Tiny(LayerStackEncoder):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self._build_stack([AddOne(), AddOne()], 4, "FlashMHA")
    >>> out, attn, hidden = Tiny()(torch.zeros(1, 3, 4),
    ...                            output_hidden_states=True)
    >>> out.shape, len(attn), len(hidden)
    (torch.Size([1, 3, 4]), 2, 3)
    """

    #: Probability of skipping each layer in training (see
    #: :func:`layerdrop_keep`); a subclass may set it per instance.
    layerdrop_prob = 0.0

    def _build_stack(
        self,
        layers,
        d_model,
        attention_type,
        output_hidden_states=False,
        norm_eps=1e-5,
    ):
        """Registers ``layers``, the final LayerNorm ``norm`` and, for
        ``RelPosMHAXL``, the relative position encoder ``rel_pos_enc``.

        Arguments
        ---------
        layers : iterable of torch.nn.Module
            The layers, in order.
        d_model : int
            Model size.
        attention_type : str
            The layers' mixer name.
        output_hidden_states : bool
            The default of ``forward``'s ``output_hidden_states``.
        norm_eps : float
            The final LayerNorm's eps.
        """
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.output_hidden_states = output_hidden_states
        self.rel_pos_enc = None
        if attention_type == "RelPosMHAXL":
            self.rel_pos_enc = RelPosEncXL(d_model)

    def _before_layers(self, src, padding):
        """The first layer's input (here ``src`` itself)."""
        return src

    def _after_layers(self, x):
        """The final step on the last layer's output (here ``norm``)."""
        return self.norm(x)

    def forward(
        self,
        src,
        src_mask=None,
        src_key_padding_mask=None,
        pos_embs=None,
        dynchunktrain_config=None,
        output_hidden_states=None,
    ):
        """Encodes a padded batch.

        Arguments
        ---------
        src : torch.Tensor
            (B, T, d_model)
        src_mask : torch.Tensor, optional
            (T, T) boolean, True = not allowed.
        src_key_padding_mask : torch.Tensor, optional
            (B, T) boolean, True = padding.
        pos_embs : torch.Tensor, optional
            (1, 2T-1, d_model) relative positions for ``RelPosMHAXL``;
            computed here when not given.
        dynchunktrain_config : None
            Must be None (no streaming training).
        output_hidden_states : bool, optional
            Overrides the constructor's ``output_hidden_states`` for this
            call (an extension of SpeechBrain's signature).

        Returns
        -------
        output : torch.Tensor
            (B, T, d_model), zero on padded frames.
        attention_lst : list
            Per-layer attention weights (None for fused mixers).
        hidden_state_lst : list of torch.Tensor
            Only with ``output_hidden_states``: the first layer's input
            (after what comes before the layers, e.g. a positional
            embedding) and each layer's output (before the final step),
            zero on padded frames; a layer dropped by layerdrop gives its
            input, so there are always ``len(layers) + 1``.
        """
        if dynchunktrain_config is not None:
            raise NotImplementedError(
                f"summary_ssl's {type(self).__name__} has no dynamic chunk "
                "training; use SpeechBrain's Conformer for streaming"
            )
        if output_hidden_states is None:
            output_hidden_states = self.output_hidden_states
        padding = src_key_padding_mask
        x = self._before_layers(src, padding)
        if self.rel_pos_enc is not None and pos_embs is None:
            pos_embs = self.rel_pos_enc(x)
        keep = layerdrop_keep(
            len(self.layers), self.layerdrop_prob, self.training
        )
        x, attention_lst, hidden_state_lst = run_layers(
            self.layers,
            x,
            padding,
            output_hidden_states,
            keep=keep,
            src_mask=src_mask,
            pos_embs=pos_embs,
        )
        x = zero_padding(self._after_layers(x), padding)
        if output_hidden_states:
            return x, attention_lst, hidden_state_lst
        return x, attention_lst
