"""Where one training step spends its device time: ``torch.profiler``
over a step, the top kernels by total time, and the share of time per
kind of kernel (matmuls, norms, convolutions, elementwise, copies...).

Kernels are sorted into kinds by name (cuBLAS/CUTLASS/cuDNN names, and
inductor's ``triton_{poi,red,per,tem}_fused_<ops>`` names, which list the
ops they fuse). On the CPU (a dry run) the same report is made from the
aten operators' self CPU time.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
from torch.profiler import ProfilerActivity, profile

# (kind, substrings of a lower-cased kernel name), first match wins.
_KINDS = (
    ("optimizer", ("adam", "multi_tensor_apply", "_foreach_")),
    ("attention", ("flash", "fmha", "attention", "sdpa", "_efficient_")),
    ("norm", ("layer_norm", "layernorm", "rms_norm", "batch_norm")),
    (
        "convolution",
        ("conv", "fprop", "dgrad", "wgrad", "implicit_gemm"),
    ),
    (
        "matmul",
        (
            "gemm",
            "cutlass",
            "cublas",
            "nvjet",
            "xmma",
            "triton_tem",
            "aten::mm",
            "aten::bmm",
            "aten::addmm",
            "aten::matmul",
            "aten::linear",
            "aten::_grouped_mm",
        ),
    ),
    (
        "copy",
        (
            "memcpy",
            "memset",
            "copy",
            "cat",
            "transpose",
            "permute",
            "aten::contiguous",
            "aten::clone",
            "aten::_to_copy",
        ),
    ),
    ("indexing", ("index", "gather", "scatter", "sort", "embedding")),
    ("reduction", ("reduce", "triton_red", "triton_per", "sum", "mean")),
    (
        "elementwise",
        (
            "elementwise",
            "triton_poi",
            "gelu",
            "silu",
            "glu",
            "sigmoid",
            "softmax",
            "dropout",
            "aten::add",
            "aten::mul",
            "aten::div",
            "aten::sub",
            "aten::where",
            "aten::masked_fill",
            "aten::exp",
            "aten::log",
            "aten::fill_",
            "aten::zero_",
            "bernoulli",
            "uniform",
            "exponential",
            "aten::pow",
            "aten::sqrt",
            "aten::rsqrt",
            "aten::clamp",
            "aten::floor",
            "aten::neg",
            "aten::abs",
            "aten::eq",
            "aten::ne",
            "aten::lt",
            "aten::le",
            "aten::gt",
            "aten::ge",
            "aten::logical",
            "aten::bitwise",
            "aten::maximum",
            "aten::minimum",
        ),
    ),
)
KINDS = tuple(kind for kind, _ in _KINDS) + ("other",)


def kernel_kind(name):
    """The kind of a kernel (or CPU operator), from its name.

    Arguments
    ---------
    name : str

    Returns
    -------
    str
        One of ``KINDS``.

    Example
    -------
    >>> kernel_kind("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128")
    'matmul'
    >>> kernel_kind("triton_per_fused_add_native_layer_norm_12")
    'norm'
    >>> kernel_kind("triton_poi_fused_gelu_mul_3")
    'elementwise'
    >>> kernel_kind("void at::native::elementwise_kernel<128, 2>")
    'elementwise'
    """
    lowered = name.lower()
    for kind, keys in _KINDS:
        if any(key in lowered for key in keys):
            return kind
    return "other"


def profile_step(step, device, warmup=1):
    """Runs ``step()`` ``warmup`` times, then once under the profiler.

    Arguments
    ---------
    step : callable
        One training step.
    device : torch.device
        Where it runs (CUDA kernels are reported on CUDA, aten operators'
        self CPU time on the CPU).
    warmup : int
        Steps before the profiled one.

    Returns
    -------
    dict
        ``device``, ``total_ms`` (sum of kernel times), ``kernels``
        (``[name, kind, calls, ms]`` sorted by time) and ``kinds``
        (``{kind: ms}``).
    """
    for _ in range(warmup):
        step()
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU]
    if cuda:
        activities.append(ProfilerActivity.CUDA)
        torch.cuda.synchronize(device)
    with profile(activities=activities) as prof:
        step()
        if cuda:
            torch.cuda.synchronize(device)
    times, calls = {}, {}
    if cuda:  # each kernel (and memcpy/memset) the step ran on the GPU
        for event in prof.events():
            if event.device_type == torch.autograd.DeviceType.CUDA:
                us = event.time_range.elapsed_us()
                times[event.name] = times.get(event.name, 0.0) + us
                calls[event.name] = calls.get(event.name, 0) + 1
    source = "cuda" if times else "cpu"
    if not times:  # on the CPU (or if no kernel was recorded)
        for event in prof.key_averages():
            if event.key.startswith("aten::") and event.self_cpu_time_total:
                times[event.key] = event.self_cpu_time_total
                calls[event.key] = event.count
    kernels = sorted(
        (
            [name, kernel_kind(name), calls[name], us / 1e3]
            for name, us in times.items()
        ),
        key=lambda row: -row[3],
    )
    kinds = {kind: 0.0 for kind in KINDS}
    for _, kind, _, ms in kernels:
        kinds[kind] += ms
    return {
        "device": source,
        "total_ms": sum(row[3] for row in kernels),
        "kernels": kernels,
        "kinds": kinds,
    }


def profile_markdown(result, title, top=25):
    """Markdown lines: the share per kind, then the top kernels.

    Arguments
    ---------
    result : dict
        What :func:`profile_step` returned.
    title : str
        Heading.
    top : int
        Kernels listed.

    Returns
    -------
    list of str
    """
    total = result["total_ms"] or 1.0
    what = "CUDA kernel" if result["device"] == "cuda" else "aten op (self CPU)"
    lines = [
        f"## {title}",
        "",
        f"{what} time in one step: {result['total_ms']:.1f} ms.",
        "",
        "| kind | ms | share % |",
        "|---|---|---|",
    ]
    for kind, ms in sorted(result["kinds"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {kind} | {ms:.2f} | {100 * ms / total:.1f} |")
    lines += [
        "",
        f"Top {top} by total time:",
        "",
        "| # | kernel | kind | calls | ms | share % |",
        "|---|---|---|---|---|---|",
    ]
    for i, (name, kind, count, ms) in enumerate(result["kernels"][:top], 1):
        short = name if len(name) <= 90 else name[:87] + "..."
        short = short.replace("|", "\\|")
        lines.append(
            f"| {i} | `{short}` | {kind} | {count} | {ms:.2f} | "
            f"{100 * ms / total:.1f} |"
        )
    return lines
