"""GPU specifications and the utilisation the planner assumes.

Peak rates, memory and board power are NVIDIA's spec-sheet numbers (SXM
boards). NVIDIA quotes tensor-core rates "with sparsity"; the dense rate,
which is what dense training can use, is half of it.

MFU (model FLOPs utilisation) here is the model's useful FLOPs per second
(:mod:`summary_ssl.budget.flops`) over the spec-sheet dense peak of the
recipe's precision. (The benchmarks divide by 800 TFLOP/s instead, what
large bf16 matrix products reached on this project's H100: 81% of the
spec's 989.4; the planner converts their measurements.)

No full pretraining step of this package has been timed on a GPU yet
(``benchmarks/RESULTS.md``), so unless measurements are given the planner
assumes :data:`DEFAULT_MFU` and prints the range of :data:`MFU_ANCHORS`.

Authors
-------
* summary_ssl contributors 2026
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class GPU:
    """One GPU type (spec sheet)."""

    name: str
    dense_tflops: float  # bf16/fp16 tensor cores, dense
    fp32_tflops: float  # fp32 without tensor cores (PyTorch's default)
    memory_gb: float
    board_power_w: float  # maximum TDP
    source: str

    def peak_tflops(self, precision):
        """Dense peak for ``bf16``/``fp16``, plain fp32 rate for ``fp32``."""
        return self.fp32_tflops if precision == "fp32" else self.dense_tflops


GPUS = {
    "H100": GPU(
        name="NVIDIA H100 SXM5 80GB",
        dense_tflops=989.4,
        fp32_tflops=66.9,
        memory_gb=80.0,
        board_power_w=700.0,
        source="NVIDIA H100 datasheet, nvidia.com/en-us/data-center/h100: "
        "BF16/FP16 tensor core 1,979 TFLOPS with sparsity (989.4 dense), "
        "FP32 67 TFLOPS, 80 GB, max TDP up to 700 W",
    ),
    "H200": GPU(
        name="NVIDIA H200 SXM 141GB",
        dense_tflops=989.4,
        fp32_tflops=66.9,
        memory_gb=141.0,
        board_power_w=700.0,
        source="NVIDIA H200 datasheet, nvidia.com/en-us/data-center/h200: "
        "BF16/FP16 tensor core 1,979 TFLOPS with sparsity (989.4 dense), "
        "FP32 67 TFLOPS, 141 GB, max TDP up to 700 W",
    ),
    "A100": GPU(
        name="NVIDIA A100 SXM4 80GB",
        dense_tflops=312.0,
        fp32_tflops=19.5,
        memory_gb=80.0,
        board_power_w=400.0,
        source="NVIDIA A100 datasheet, nvidia.com/en-us/data-center/a100: "
        "BF16/FP16 tensor core 312 TFLOPS dense (624 with sparsity), "
        "FP32 19.5 TFLOPS, 80 GB, max TDP 400 W",
    ),
}


def gpu_kind(device_name):
    """``H100``, ``H200`` or ``A100`` from a device name, or None.

    Example
    -------
    >>> gpu_kind("NVIDIA H100 80GB HBM3"), gpu_kind("Tesla V100")
    ('H100', None)
    """
    name = (device_name or "").upper()
    for kind in GPUS:
        if kind in name:
            return kind
    return None


# Utilisation the planner assumes without measurements, between measured
# anchors (the first two measured by this project on an H100, bf16):
MFU_ANCHORS = {
    "low": (
        0.067,
        "SpeechBrain's stock wav2vec2-base step, eager, H100: 1,340 "
        "audio-s/s x ~49 GFLOP per audio-second = ~66 TFLOP/s "
        "(benchmarks/README.md)",
    ),
    "paper": (
        0.097,
        "the SummaryMixing SSL paper's own run of this model and schedule "
        "(reference implementation, fp16): 480k h of audio in about 7 days "
        "on 4 A100s, i.e. 672 GPU-hours, is 9.7% of the A100's dense peak "
        "by this planner's FLOP count (pretraining README)",
    ),
    "high": (
        0.23,
        "a compiled SummaryMixing Conformer encoder alone, fwd+bwd, H100: "
        "~230 TFLOP/s (benchmarks/RESULTS.md)",
    ),
}
DEFAULT_MFU = 0.10  # the paper's run, rounded

# An example price only, so that a cost can be printed at all: pass
# --usd-per-gpu-hour. (Public on-demand H100 SXM listings seen in 2026
# ranged about 1.9-2.9 USD per GPU-hour.)
EXAMPLE_USD_PER_GPU_HOUR = 2.0
