"""Installs summary_ssl, a SpeechBrain extension for cheap SSL pretraining."""

from setuptools import find_packages, setup

setup(
    name="summary_ssl",
    version="0.1.0",
    description=(
        "SummaryMixing and FlashAttention Conformers and wav2vec 2.0 "
        "pretraining for SpeechBrain"
    ),
    packages=find_packages(include=["summary_ssl", "summary_ssl.*"]),
    package_data={"summary_ssl.budget": ["data/*.json"]},
    python_requires=">=3.10",
    install_requires=[
        "torch>=2.7.1",
        "torchaudio>=2.7.1",
        "speechbrain>=1.1.2,<1.2",
        "hyperpyyaml>=1.2.3",
        "webdataset>=1.0.2",
        "sentencepiece",
        "soundfile",
        "jiwer",
        "tqdm",
    ],
    extras_require={
        "flash": ["flash-attn"],
        "plots": ["matplotlib"],
        "dev": ["pytest", "matplotlib"],
    },
)
