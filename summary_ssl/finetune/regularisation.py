"""fairseq's fine-tuning regularisation, set on a pretrained encoder.

fairseq's ``wav2vec_ctc`` model does not fine-tune with the dropout the
encoder was pretrained with: ``Wav2VecEncoder`` rebuilds it with its own
values in place (``arg_overrides``), and its fine-tuning configurations
(``examples/wav2vec/config/finetuning/base_{10m,1h,10h,100h}.yaml`` with
``Wav2Vec2AsrConfig``'s defaults) all use

================  =====  ==============================================
fairseq key       value  here
================  =====  ==============================================
dropout           0.0    ``dropout``: every other dropout module
dropout_input     0.0    (the same ``dropout``)
attention_dropout 0.0    ``attention_dropout``: attention probabilities
activation_dropout 0.1   ``activation_dropout``: after the FFN activation
layerdrop         0.1    ``layerdrop``: the layer stack's layerdrop
================  =====  ==============================================

:func:`set_regularisation` sets these on an encoder rebuilt by
:func:`summary_ssl.pretrained.build_encoder`. It adds no parameter and
changes no state-dict key, so checkpoints and exports are unaffected;
in eval mode the encoder computes exactly what it did. A value of None
keeps what the encoder was built with. A value that nothing in the
encoder can take (a layerdrop without a layer stack, an activation
dropout without a feed-forward block) is an error, never ignored.

Authors
-------
* summary_ssl contributors 2026
"""

import logging

import torch.nn as nn
from speechbrain.nnet.attention import RelPosMHAXL

from summary_ssl.lobes.encoders.conformer import ConformerEncoderLayer
from summary_ssl.lobes.encoders.transformer import TransformerEncoderLayer
from summary_ssl.nnet.attention import FlashMHA

logger = logging.getLogger(__name__)

#: fairseq's fine-tuning values (the table above).
FAIRSEQ_FINETUNING = dict(
    dropout=0.0, attention_dropout=0.0, activation_dropout=0.1, layerdrop=0.1
)


def _ffn_activations(layer):
    """(sequential, index of its activation) of each feed-forward block
    of a layer: the Conformer's two (``LayerNorm, Linear, activation,
    Dropout, Linear, Dropout``) or the Transformer's one (``Linear,
    activation, Linear``)."""
    if isinstance(layer, ConformerEncoderLayer):
        return [(layer.ffn_module1, 2), (layer.ffn_module2, 2)]
    if isinstance(layer, TransformerEncoderLayer):
        return [(layer.ffn, 1)]
    return []


def _existing_activation_dropout(block, index):
    """The dropout after the activation ``block[index]``, or None."""
    if isinstance(block[index + 1], nn.Dropout):
        return block[index + 1]
    if isinstance(block[index], nn.Sequential):  # wrapped by an earlier call
        return block[index][-1]
    return None


def _activation_dropout(block, index):
    """The dropout after the activation ``block[index]``; where there is
    none (the Transformer's FFN), the activation becomes ``Sequential(
    activation, Dropout)``, which holds no parameter: the state-dict keys
    stay as they are."""
    drop = _existing_activation_dropout(block, index)
    if drop is None:
        drop = nn.Dropout(0.0)
        wrapped = nn.Sequential(block[index], drop)
        wrapped.train(block.training)  # a new module would be in train mode
        block[index] = wrapped
    return drop


def set_regularisation(
    encoder,
    dropout=None,
    attention_dropout=None,
    activation_dropout=None,
    layerdrop=None,
):
    """Sets fine-tuning dropout and layerdrop on ``encoder``, in place.

    Arguments
    ---------
    encoder : torch.nn.Module
        A pretrained encoder (``Wav2Vec2Encoder`` and the layers of this
        package).
    dropout : float, optional
        Every dropout module that is neither an attention nor an
        activation dropout (residual, convolution module, input
        projection, SummaryMixing's combiner input).
    attention_dropout : float, optional
        Dropout of the attention probabilities (RelPosMHAXL, regularMHA,
        FlashMHA).
    activation_dropout : float, optional
        Dropout after the activation of each feed-forward block.
    layerdrop : float, optional
        ``layerdrop_prob`` of the encoder's layer stack(s).

    Returns
    -------
    dict
        How many modules took each setting (``dropout``,
        ``attention_dropout``, ``activation_dropout``, ``layerdrop``).

    Example
    -------
    >>> import torch
    >>> from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    >>> encoder = ConformerEncoder(2, 16, 32, 2, kernel_size=3,
    ...                            dropout=0.1, layerdrop_prob=0.05)
    >>> set_regularisation(encoder, **FAIRSEQ_FINETUNING)
    {'dropout': 6, 'attention_dropout': 2, 'activation_dropout': 4, \
'layerdrop': 1}
    >>> encoder.layerdrop_prob, encoder.layers[0].ffn_module1[3].p
    (0.1, 0.1)
    >>> set_regularisation(nn.Linear(2, 2), layerdrop=0.1)
    Traceback (most recent call last):
    ...
    ValueError: layerdrop=0.1 asked, but the encoder has no layer stack \
(no module with layerdrop_prob)
    """
    asked = dict(
        dropout=dropout,
        attention_dropout=attention_dropout,
        activation_dropout=activation_dropout,
        layerdrop=layerdrop,
    )
    for key, value in asked.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and not (number and 0.0 <= value < 1.0):
            raise ValueError(
                f"{key} must be in [0, 1) (or None: as pretrained), "
                f"got {value!r}"
            )
    counts = dict.fromkeys(
        ("dropout", "attention_dropout", "activation_dropout", "layerdrop"), 0
    )
    special = set()  # the attention and activation dropout modules
    for module in encoder.modules():
        if isinstance(module, RelPosMHAXL):
            special.add(id(module.dropout_att))
            if attention_dropout is not None:
                module.dropout_att.p = attention_dropout
                counts["attention_dropout"] += 1
        elif isinstance(module, (FlashMHA, nn.MultiheadAttention)):
            # Both keep the probability as a float, read at each call.
            if attention_dropout is not None:
                module.dropout = attention_dropout
                counts["attention_dropout"] += 1
        for block, index in _ffn_activations(module):
            if activation_dropout is None:
                special.add(id(_existing_activation_dropout(block, index)))
                continue
            drop = _activation_dropout(block, index)
            special.add(id(drop))
            drop.p = activation_dropout
            counts["activation_dropout"] += 1
        if layerdrop is not None and hasattr(module, "layerdrop_prob"):
            module.layerdrop_prob = layerdrop
            counts["layerdrop"] += 1
    if dropout is not None:
        for module in encoder.modules():
            if isinstance(module, nn.Dropout) and id(module) not in special:
                module.p = dropout
                counts["dropout"] += 1
    where = dict(
        dropout="no dropout module",
        attention_dropout="no attention with dropout",
        activation_dropout="no feed-forward block",
        layerdrop="no layer stack (no module with layerdrop_prob)",
    )
    for key, value in asked.items():
        # Setting 0 where there is nothing to set changes nothing.
        if value and not counts[key]:
            raise ValueError(
                f"{key}={value} asked, but the encoder has {where[key]}"
            )
    logger.info(
        "Fine-tuning regularisation: %s",
        ", ".join(
            f"{key} {value} ({counts[key]} modules)"
            for key, value in asked.items()
            if value is not None
        )
        or "as pretrained",
    )
    return counts
