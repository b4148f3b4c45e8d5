"""summary_ssl.dataio: data preparation, audio loading and the toy corpus.

Preparations (one per dataset, each writing SpeechBrain CSV files):

* :func:`~summary_ssl.dataio.librispeech.prepare_librispeech`
* :func:`~summary_ssl.dataio.audio_folder.prepare_audio_folder`
* :func:`~summary_ssl.dataio.slurp.prepare_slurp`
* :func:`~summary_ssl.dataio.iemocap.prepare_iemocap`
* :func:`~summary_ssl.dataio.voxceleb.prepare_voxceleb`

Shared by them: :mod:`~summary_ssl.dataio.audio_checks` (file checks,
exclusion reports, :func:`~summary_ssl.dataio.audio_checks.load_audio`) and
:mod:`~summary_ssl.dataio.prepare_utils` (CSV writing, skipping).

The synthetic toy corpus: :mod:`~summary_ssl.dataio.toy_corpus` (entry
point), :mod:`~summary_ssl.dataio.toy_specs`,
:mod:`~summary_ssl.dataio.toy_layouts`, :mod:`~summary_ssl.dataio.toy_text`,
:mod:`~summary_ssl.dataio.toy_recorder` and :mod:`~summary_ssl.dataio.espeak`.
"""
