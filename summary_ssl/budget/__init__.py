"""Compute-budget planner for the wav2vec 2.0 pretraining recipes.

``python -m summary_ssl.budget HPARAMS.yaml`` (see :mod:`.__main__`):

* :mod:`.recipe`: the YAML, built on fake tensors, and its schedule;
* :mod:`.flops`: FLOP formulas of the modules a recipe builds (the one
  FLOP model, which the benchmarks use too);
* :mod:`.memory`: the activations autograd saves, and peak memory;
* :mod:`.probe`: one training step on fake tensors, counted by both;
* :mod:`.hardware`: GPU spec sheets and the utilisation assumption;
* :mod:`.measurements`: measured steps (shipped, or the benchmark's
  output);
* :mod:`.throughput`: the throughput to plan with;
* :mod:`.cost`: the cost of a recipe's schedule;
* :mod:`.planner`: model sizes for a budget; :mod:`.plot`, :mod:`.report`.

Authors
-------
* summary_ssl contributors 2026
"""
