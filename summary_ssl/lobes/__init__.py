"""SpeechBrain lobes of summary_ssl, one subpackage per kind.

* :mod:`.frontends`: waveform -> latent frames (CNN on filterbanks or raw
  audio, and SpeechBrain's filterbanks on the device);
* :mod:`.encoders`: the sequence mixers, the Conformer and Transformer
  stacks built from them, and the whole encoders that are exported
  (wav2vec 2.0, S3LSpeech);
* :mod:`.objectives`: the pretraining losses beside the model (wav2vec
  2.0, teacher-student, utterance contrast, distillation) and the EMA
  teacher;
* :mod:`.augment`: span masking, negative sampling and input
  perturbations.

Modules that lived directly in ``summary_ssl.lobes`` before the split keep
their import paths (YAML files name them: ``!new:summary_ssl.lobes.
conformer.ConformerEncoder``): :data:`MOVED` maps each old name to its
module, and a finder serves the old path as the same module object.

Authors
-------
* summary_ssl contributors 2026
"""

import importlib
import importlib.abc
import importlib.util
import sys

#: Old module name under summary_ssl.lobes -> its module now.
MOVED = {
    "conformer": "encoders.conformer",
    "mixers": "encoders.mixers",
    "progressive": "encoders.progressive",
    "s3lspeech": "encoders.s3lspeech",
    "transformer": "encoders.transformer",
    "wav2vec2": "encoders.wav2vec2",
    "fbank": "frontends.fbank",
    "contrastive": "objectives.contrastive",
    "distillation": "objectives.distillation",
    "ema_teacher": "objectives.ema_teacher",
    "ts_objective": "objectives.teacher_student",
    "utterance_contrast": "objectives.utterance_contrast",
    "w2v_objective": "objectives.wav2vec2",
    "perturbations": "augment.perturbations",
    "span_masking": "augment.span_masking",
}


class _MovedModuleLoader(importlib.abc.Loader):
    """Returns the module at its new path for an old one."""

    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        """Nothing to run: the target module is already imported."""


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds ``summary_ssl.lobes.<old name>`` for the names in MOVED."""

    def find_spec(self, fullname, path=None, target=None):
        parent, _, name = fullname.rpartition(".")
        if parent != __name__ or name not in MOVED:
            return None
        loader = _MovedModuleLoader(f"{__name__}.{MOVED[name]}")
        return importlib.util.spec_from_loader(fullname, loader)


if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder())
