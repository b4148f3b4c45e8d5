"""Peak GPU memory of a training step, estimated.

peak = weights + gradients + optimizer state + activations, where

* weights and gradients are fp32 (the recipes keep fp32 weights under
  autocast): 4 + 4 bytes per parameter;
* AdamW keeps two fp32 moments: 8 bytes per parameter;
* activations are what autograd saves for the backward pass, measured on
  fake tensors by :func:`summary_ssl.budget.probe.probe_step` for one
  micro-batch (the bf16/fp16 copies of the weights that autocast makes are
  among them). Gradient accumulation does not add to them.

Not counted: the temporaries of the backward pass (gradients of
activations, freed layer by layer), the input batch, CUDA's context and
the caching allocator's fragmentation. Read the result as a lower bound.

Authors
-------
* summary_ssl contributors 2026
"""

GIB = 2.0**30
STATE_BYTES_PER_PARAM = {"weights": 4, "gradients": 4, "optimizer": 8}


def peak_memory(probe):
    """Memory of one training step, in GiB, by part.

    Arguments
    ---------
    probe : summary_ssl.budget.probe.StepProbe

    Returns
    -------
    dict
        ``weights``, ``gradients``, ``optimizer``, ``activations`` (of
        which ``objective_activations``), and ``peak`` (their sum).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> probe = SimpleNamespace(params=2**28, activation_bytes=2**31,
    ...                         objective_bytes=2**30)
    >>> peak_memory(probe)["peak"]  # 4 GiB of state (16 B/param) + 2
    6.0
    """
    parts = {
        name: probe.params * size / GIB
        for name, size in STATE_BYTES_PER_PARAM.items()
    }
    parts["activations"] = probe.activation_bytes / GIB
    parts["objective_activations"] = probe.objective_bytes / GIB
    parts["peak"] = sum(
        parts[name] for name in ("weights", "gradients", "optimizer")
    )
    parts["peak"] += parts["activations"]
    return parts
