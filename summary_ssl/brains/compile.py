"""``torch.compile`` of the pretraining step, region by region.

SpeechBrain's ``Brain`` compiles each entry of ``modules`` whole
(``--compile``). For wav2vec 2.0 pretraining that unit is wrong twice:
the ``wav2vec2`` module's graph unrolls every encoder layer (compilation
time grows with depth: minutes at 12 layers), and layerdrop's per-layer
decision, taken on the host, would break that graph at every layer. So
:func:`compile_regions` compiles four regions instead, each as one graph
(``fullgraph=True`` fails loudly on any graph break):

* the front end (``wav2vec2.frontend``);
* each encoder layer: the layers share one class and one compiled graph,
  so compiling the first layer is compiling them all, and the layerdrop
  decision stays in the (eager) loop between them;
* the objective (quantiser, projections, negatives, losses);
* the span masking function.

The glue between them (LayerNorm, input projection, mask embedding, final
LayerNorm) runs eagerly. With ``dynamic=True`` the batch and time sizes
are symbolic, so the varying shapes of dynamic batching reuse the same
graphs (see ``benchmarks/recompile_bench.py`` and ``RESULTS.md``).

Authors
-------
* summary_ssl contributors 2026
"""

import torch

from summary_ssl.lobes.augment.span_masking import compute_span_mask


def compile_regions(
    wav2vec2,
    objective,
    mode="default",
    fullgraph=True,
    dynamic=True,
    backend="inductor",
):
    """Compiles the regions of the pretraining step in place.

    Arguments
    ---------
    wav2vec2 : torch.nn.Module
        A :class:`summary_ssl.lobes.encoders.wav2vec2.Wav2Vec2Encoder`
        (unwrapped).
    objective : torch.nn.Module
        A :class:`summary_ssl.lobes.objectives.wav2vec2.W2V2Objective`.
    mode : str
        ``torch.compile`` mode (``default``, ``reduce-overhead``,
        ``max-autotune``...).
    fullgraph : bool
        Fail on any graph break instead of splitting the region.
    dynamic : bool or None
        Symbolic batch and time sizes (True), one graph per shape (False),
        or torch's default (None: static first, dynamic after a shape
        changes).
    backend : str
        ``torch.compile`` backend (tests use ``aot_eager``).

    Returns
    -------
    callable
        The compiled
        :func:`~summary_ssl.lobes.augment.span_masking.compute_span_mask`.

    Example
    -------
    >>> from summary_ssl.lobes.encoders.conformer import ConformerEncoder
    >>> from summary_ssl.lobes.frontends import FbankCNNFrontEnd
    >>> from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
    >>> from summary_ssl.lobes.objectives.wav2vec2 import W2V2Objective
    >>> model = Wav2Vec2Encoder(FbankCNNFrontEnd(n_mels=20, channels=[4, 2]),
    ...     ConformerEncoder(2, 16, 32, 2, kernel_size=3,
    ...                      attention_type="SummaryMixing"), d_model=16)
    >>> masker = compile_regions(model, W2V2Objective(20, 16, proj_dim=8),
    ...                          backend="eager")
    >>> callable(masker)
    True
    """
    options = dict(mode=mode, fullgraph=fullgraph, dynamic=dynamic)
    if backend == "inductor":
        # On the H100 (torch 2.11, CUDA 13; benchmarks/RESULTS.md,
        # 2026-11-26), Inductor's memory-coalescing tiling analysis failed
        # an assertion (tiling_utils.get_pw_red_splits) on this step with
        # dynamic shapes, and compilation stopped. The analysis only picks
        # Triton tile shapes, so it is turned off (process-wide: Inductor
        # has no per-call switch when a ``mode`` is given). Not yet
        # re-run on a GPU.
        torch._inductor.config.triton.coalesce_tiling_analysis = False
    else:
        options = dict(backend=backend, fullgraph=fullgraph, dynamic=dynamic)
    wav2vec2.frontend.compile(**options)
    for layer in wav2vec2.encoder.layers:
        layer.compile(**options)
    objective.compile(**options)
    return torch.compile(compute_span_mask, **options)
