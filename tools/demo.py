"""Demo: build each Conformer encoder and run a padded batch through it.

(Replaced by pretraining + a probe once the recipes exist.)
"""

import time

import torch

from summary_ssl.lobes.conformer import ConformerEncoder
from summary_ssl.lobes.mixers import ATTENTION_TYPES


def main():
    torch.manual_seed(0)
    lengths = torch.tensor([400, 250, 120])
    x = torch.randn(3, 400, 144)
    padding = torch.arange(400)[None, :] >= lengths[:, None]
    for attention_type in ATTENTION_TYPES:
        enc = ConformerEncoder(
            4, 144, 576, 4, kernel_size=15, attention_type=attention_type
        ).eval()
        start = time.perf_counter()
        with torch.no_grad():
            out, _ = enc(x, src_key_padding_mask=padding)
        ms = 1000 * (time.perf_counter() - start)
        params = sum(p.numel() for p in enc.parameters()) / 1e6
        print(
            f"{attention_type:24s} {params:5.2f}M params  "
            f"out {tuple(out.shape)}  {ms:7.1f} ms (CPU, one pass)"
        )


if __name__ == "__main__":
    main()
