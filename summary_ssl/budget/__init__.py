"""Compute-budget planner for the wav2vec 2.0 pretraining recipes.

``python -m summary_ssl.budget HPARAMS.yaml`` (see :mod:`.__main__`):

* :mod:`.recipe`: the YAML, built on fake tensors, and its schedule;
* :mod:`.flops`: FLOP formulas of the modules a recipe builds;
* :mod:`.probe`: one training step on fake tensors: FLOPs and the
  activations autograd saves;
* :mod:`.memory`: peak memory;
* :mod:`.hardware`: GPU spec sheets and the utilisation assumption;
* :mod:`.throughput`: measured throughput from the benchmarks' output;
* :mod:`.cost`: the cost of a recipe's schedule;
* :mod:`.planner`: model sizes for a budget; :mod:`.plot`, :mod:`.report`.

Authors
-------
* summary_ssl contributors 2026
"""
