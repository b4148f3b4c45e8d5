#!/usr/bin/env python3
"""Parameters, FLOPs and inference time per audio-second of exported
encoders.

Each encoder runs as the probes run it (``FrozenSSLEncoder``: eval mode,
no gradient, every hidden state) on one utterance of random audio per
length; the encoders take turns, and each one's time is the median over
``--repeats`` runs (after a warm-up), divided by the audio's duration.
FLOPs (forward, 2 per multiply-add, as ``summary_ssl.budget.flops``
counts them) do not depend on the machine or its load.

    python benchmark_inference.py teacher=EXPORTED_DIR student=EXPORTED_DIR
    python benchmark_inference.py ... --seconds 10 30 --threads 1 --device cpu

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import json
import statistics
import time

import torch

from summary_ssl.budget.flops import FlopHooks
from summary_ssl.pretrained import FrozenSSLEncoder


def parameters(module):
    """Number of parameters."""
    return sum(p.numel() for p in module.parameters())


def gflops_per_second(encoder, seconds=10.0, sample_rate=16000):
    """Forward GFLOPs per audio-second: (whole encoder, front end)."""
    wavs = torch.randn(1, int(seconds * sample_rate))
    model = encoder.wav2vec2
    device = next(model.parameters()).device
    with FlopHooks(model) as hooks:
        encoder(wavs.to(device), torch.ones(1, device=device))
    return (
        round(hooks.forward() / seconds / 1e9, 3),
        round(hooks.forward("frontend") / seconds / 1e9, 3),
    )


def time_once(encoder, wavs, lens, device):
    """Seconds of one forward pass."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    encoder(wavs, lens)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def benchmark(encoders, seconds, repeats, device, sample_rate=16000):
    """{name: {"parameters", "ms_per_audio_second": {seconds: ms}}}."""
    results = {
        name: {
            "parameters": parameters(enc),
            "gflops_per_audio_second": gflops_per_second(enc),
            "ms_per_audio_second": {},
        }
        for name, enc in encoders.items()
    }
    gen = torch.Generator().manual_seed(0)
    for secs in seconds:
        wavs = 0.1 * torch.randn(1, int(secs * sample_rate), generator=gen)
        wavs, lens = wavs.to(device), torch.ones(1, device=device)
        times = {name: [] for name in encoders}
        for enc in encoders.values():
            time_once(enc, wavs, lens, device)  # warm-up
        for _ in range(repeats):
            for name, enc in encoders.items():
                times[name].append(time_once(enc, wavs, lens, device))
        for name in encoders:
            ms = 1000 * statistics.median(times[name]) / secs
            results[name]["ms_per_audio_second"][secs] = round(ms, 2)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("encoders", nargs="+", help="NAME=EXPORTED_DIR")
    parser.add_argument("--seconds", type=float, nargs="+", default=[10, 30])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    encoders = {}
    for item in args.encoders:
        name, _, folder = item.partition("=")
        if not folder:
            parser.error(f"give NAME=EXPORTED_DIR, not {item!r}")
        encoders[name] = FrozenSSLEncoder(folder).to(device)
    results = benchmark(encoders, args.seconds, args.repeats, device)
    header = " | ".join(f"ms / audio-s ({s:g} s)" for s in args.seconds)
    print(f"| encoder | parameters | GFLOPs / audio-s (front end) | {header} |")
    print("|---|---|---|" + "---|" * len(args.seconds))
    for name, r in results.items():
        cells = " | ".join(str(v) for v in r["ms_per_audio_second"].values())
        total, front = r["gflops_per_audio_second"]
        print(f"| {name} | {r['parameters']:,} | {total} ({front}) | {cells} |")
    print(
        json.dumps(
            {"device": str(device), "threads": args.threads, "results": results}
        )
    )


if __name__ == "__main__":
    main()
