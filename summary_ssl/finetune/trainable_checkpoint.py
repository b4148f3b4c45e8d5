"""Checkpoints of what a fine-tuning trains, not of the frozen backbone.

SpeechBrain's default hook saves a module's whole ``state_dict``. With
``lora`` or ``read`` the backbone is frozen, yet each checkpoint would
rewrite it: for the ``summarymixing_w2v2`` recipe's model (154M
parameters), 627 MB per LoRA checkpoint where the adapters take 10.7 MB,
618 MB per READ checkpoint where the side network takes 1.0 MB (measured
with these hooks against ``torch.save(state_dict)``). These two hooks, given to
``Checkpointer.add_recoverable(custom_save_hook=, custom_load_hook=)``,
save the parameters that train (``requires_grad``), the persistent
buffers (constants here) and a fingerprint of the frozen parameters; on
recovery the frozen weights come from the exported encoder the run was
started from, and a run resumed on another encoder is refused instead of
silently mixing the two.

Authors
-------
* summary_ssl contributors 2026
"""

import torch


def frozen_fingerprint(module):
    """Name -> (shape, float64 sum) of every parameter that does not train.

    Example
    -------
    >>> layer = torch.nn.Linear(2, 1)
    >>> _ = layer.bias.requires_grad_(False)
    >>> frozen_fingerprint(layer)
    {'bias': ([1], ...)}
    """
    return {
        name: (list(param.shape), float(param.detach().double().sum()))
        for name, param in module.named_parameters()
        if not param.requires_grad
    }


def save_trainable(module, path):
    """Saves the trained parameters of ``module`` and the fingerprint of
    its frozen ones (a ``custom_save_hook``).

    Arguments
    ---------
    module : torch.nn.Module
    path : str or pathlib.Path

    Example
    -------
    >>> layer = torch.nn.Linear(2, 1)
    >>> _ = layer.bias.requires_grad_(False)
    >>> path = getfixture("tmp_path") / "ckpt"
    >>> save_trainable(layer, path)
    >>> sorted(torch.load(path)["trainable"])
    ['weight']
    """
    state = module.state_dict(keep_vars=True)
    trainable = {  # and the (small) persistent buffers
        name: value.detach()
        for name, value in state.items()
        if not isinstance(value, torch.nn.Parameter) or value.requires_grad
    }
    torch.save(
        {"trainable": trainable, "frozen": frozen_fingerprint(module)}, path
    )


def load_trainable(module, path, end_of_epoch=False):
    """Loads what :func:`save_trainable` saved into ``module`` (a
    ``custom_load_hook``); a whole ``state_dict`` (a checkpoint written
    before these hooks) is loaded as SpeechBrain would.

    Arguments
    ---------
    module : torch.nn.Module
    path : str or pathlib.Path
    end_of_epoch : bool
        Unused (the hook's signature).

    Raises
    ------
    ValueError
        When the frozen weights differ from those the checkpoint was
        trained on (another exported encoder), or its parameters do not
        match the module's.

    Example
    -------
    >>> layer = torch.nn.Linear(2, 1)
    >>> _ = layer.bias.requires_grad_(False)
    >>> path = getfixture("tmp_path") / "ckpt"
    >>> save_trainable(layer, path)
    >>> with torch.no_grad():
    ...     _ = layer.weight.zero_()
    >>> load_trainable(layer, path)
    >>> bool(layer.weight.abs().sum() > 0)
    True
    >>> whole = getfixture("tmp_path") / "whole"  # SpeechBrain's format
    >>> torch.save({"weight": torch.ones(1, 2), "bias": layer.bias}, whole)
    >>> load_trainable(layer, whole)
    >>> layer.weight.tolist()
    [[1.0, 1.0]]
    >>> with torch.no_grad():
    ...     _ = layer.bias.add_(1.0)
    >>> load_trainable(layer, path)
    Traceback (most recent call last):
    ...
    ValueError: ... frozen weights differ ... bias
    """
    saved = torch.load(path, map_location="cpu")
    if set(saved) != {"trainable", "frozen"}:  # a plain state_dict
        module.load_state_dict(saved)
        return
    now = frozen_fingerprint(module)
    changed = sorted(
        name
        for name in set(now) | set(saved["frozen"])
        if name not in now
        or name not in saved["frozen"]
        or now[name][0] != saved["frozen"][name][0]
        or abs(now[name][1] - saved["frozen"][name][1])
        > 1e-6 * max(1.0, abs(now[name][1]))
    )
    if changed:
        raise ValueError(
            f"{path}: the frozen weights differ from those this checkpoint "
            "was trained on (resumed with another encoder_folder or "
            f"adaptation?): {', '.join(changed[:5])}"
            + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        )
    missing, unexpected = module.load_state_dict(
        saved["trainable"], strict=False
    )
    untrained = set(missing) - set(now)
    if unexpected or untrained:
        raise ValueError(
            f"{path}: parameters do not match the model (unexpected: "
            f"{sorted(unexpected)[:5]}, missing: {sorted(untrained)[:5]})"
        )
