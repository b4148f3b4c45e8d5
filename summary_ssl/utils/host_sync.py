"""Records the operations that make the host wait for the device.

On a GPU, ``.item()`` (and ``float()``, ``bool()``, ``int()`` of a tensor),
``nonzero``, boolean-mask indexing, ``unique``, ``masked_select`` and
copies to the CPU each stop the host until the GPU has finished
everything queued before them: the GPU then idles while the host catches
up. CUDA's sync debug mode finds them on a GPU; :class:`HostSyncRecorder`
finds them on any device, the CPU included, by looking at the operations
themselves (a ``TorchDispatchMode``), so a CPU test can check that a
training step issues none.

Authors
-------
* summary_ssl contributors 2026
"""

import traceback

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

# Operations whose output (or output shape) is read on the host.
_SYNC_OPS = {
    aten._local_scalar_dense.default,  # item, float, bool, int, tolist
    aten.nonzero.default,
    aten.masked_select.default,
    aten.is_nonzero.default,
    aten.equal.default,
    aten.bincount.default,
    aten._unique2.default,
    aten.unique_dim.default,
    aten.unique_consecutive.default,
    aten.repeat_interleave.Tensor,
}
# Indexing ops that sync when an index is boolean (it becomes nonzero).
_INDEX_OPS = {
    aten.index.Tensor,
    aten.index_put.default,
    aten.index_put_.default,
    aten._index_put_impl_.default,
}
_COPY_OPS = {aten._to_copy.default, aten.copy_.default}


class HostSyncRecorder(TorchDispatchMode):
    """Records host-device synchronising operations run inside it.

    Each record is ``(op name, short stack)``. Copies count only from a
    non-CPU tensor to the CPU (so on a CPU-only run, ``.cpu()`` is not
    seen: keep device-bound values as tensors).

    Example
    -------
    >>> x = torch.arange(6.0)
    >>> with HostSyncRecorder() as rec:
    ...     y = x * 2                   # fine
    ...     z = x[x > 2]                # boolean mask: nonzero
    ...     n = float(y.sum())          # item
    >>> [name for name, _ in rec.records]
    ['aten.index.Tensor', 'aten._local_scalar_dense.default']
    """

    def __init__(self):
        super().__init__()
        self.records = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _synchronises(func, args, kwargs):
            stack = traceback.format_stack(limit=12)[:-2]
            self.records.append((str(func), "".join(stack[-6:])))
        return func(*args, **kwargs)


def _synchronises(func, args, kwargs):
    if func in _SYNC_OPS:
        return True
    if func in _INDEX_OPS:
        indices = args[1] if len(args) > 1 else kwargs.get("indices", ())
        return any(
            isinstance(i, torch.Tensor) and i.dtype == torch.bool
            for i in indices
        )
    if func in _COPY_OPS:
        if func is aten._to_copy.default:
            src, target = args[0], kwargs.get("device")
        else:
            target, src = args[0].device, args[1]
        return (
            isinstance(src, torch.Tensor)
            and src.device.type != "cpu"
            and target is not None
            and torch.device(target).type == "cpu"
        )
    return False
