"""MP3S-style downstream probes on frozen self-supervised encoders.

The recipes in ``recipes/MP3S/`` train small probes on top of a frozen
exported encoder (see :mod:`summary_ssl.pretrained`). What they share
lives here:

* :mod:`~summary_ssl.probes.features`: the probe input (``ssl``,
  ``random_init`` or ``fbank`` features);
* :mod:`~summary_ssl.probes.cache`: the optional on-disk feature cache;
* :mod:`~summary_ssl.probes.heads`: pooling, linear and BiLSTM heads;
* :mod:`~summary_ssl.probes.brain`: the :class:`ProbeBrain` base;
* :mod:`~summary_ssl.probes.asr`, :mod:`~summary_ssl.probes.classification`
  and :mod:`~summary_ssl.probes.verification`: the task Brains;
* :mod:`~summary_ssl.probes.data`: CSV datasets and audio pipelines;
* :mod:`~summary_ssl.probes.layer_reference`: the single-layer
  logistic-regression reference of the classification probes;
* :mod:`~summary_ssl.probes.tasks`: the one registry of the tasks;
* :mod:`~summary_ssl.probes.protocols`: ``mp3s``, ``fast``, YAML loading;
* :mod:`~summary_ssl.probes.runs`: the benchmark's recipe runs;
* :mod:`~summary_ssl.probes.report`: the benchmark's results and figure;
* :mod:`~summary_ssl.probes.verdict`: the reference table and the verdict
  of the benchmark (does the encoder beat its baselines?).

Authors
-------
* summary_ssl contributors 2026
"""
