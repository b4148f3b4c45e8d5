"""Fine-tuning of exported encoders (issue 23).

* :mod:`.adaptation`: :class:`~.adaptation.AdaptedEncoder`, one wrapper
  for the four ways to adapt an encoder (``full``, ``frozen``, ``lora``,
  ``read``);
* :mod:`.lora`: LoRA adapters on the encoder's linears, and their merge;
* :mod:`.read`: the READ side network (a small RNN beside a frozen
  backbone).
* :mod:`.regularisation`: fairseq's fine-tuning dropout and layerdrop,
  set on the pretrained encoder.

Authors
-------
* summary_ssl contributors 2026
"""
