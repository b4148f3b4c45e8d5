"""summary_ssl.dataio: data preparation and audio loading.

Preparations (one per dataset, each writing SpeechBrain CSV files):

* :func:`~summary_ssl.dataio.librispeech.prepare_librispeech`
* :func:`~summary_ssl.dataio.audio_folder.prepare_audio_folder`
* :func:`~summary_ssl.dataio.slurp.prepare_slurp`
* :func:`~summary_ssl.dataio.iemocap.prepare_iemocap`
* :func:`~summary_ssl.dataio.voxceleb.prepare_voxceleb`
* :func:`~summary_ssl.dataio.librilight.prepare_librilight`
* :func:`~summary_ssl.dataio.labelled_folder.prepare_labelled_folder`
* :func:`~summary_ssl.dataio.speaker_folder.prepare_speaker_folder`

Each fills in the skeleton of :mod:`~summary_ssl.dataio.prepare_utils`
(skip when already prepared, check every file, write the CSV and its
exclusions) with its layout walk and its rows; file checks, exclusion
reports and :func:`~summary_ssl.dataio.audio_checks.load_audio` are in
:mod:`~summary_ssl.dataio.audio_checks`. The command line of every
preparation (the recipes' ``*_prepare.py`` scripts) is built from its
signature by :func:`~summary_ssl.dataio.prepare_cli.run_preparation_cli`.

The synthetic toy corpus and its generator are the checkout's, not the
package's: :mod:`tools.toy`.
"""
