"""Learning-rate schedules (nnet.schedulers)."""

import pytest
import torch
import torch.nn as nn

from summary_ssl.nnet.schedulers import OneCycleCosineScheduler


def test_schedule_matches_pytorch_one_cycle():
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=3e-4)
    reference = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=3e-4,
        total_steps=50,
        pct_start=0.08,
        anneal_strategy="cos",
        div_factor=1e6,
        final_div_factor=1,
    )
    ours = OneCycleCosineScheduler(3e-4, 0.08 * 50, 50)
    for step in range(1, 51):
        assert ours.calculate_lr(step) == pytest.approx(
            opt.param_groups[0]["lr"], rel=1e-9, abs=1e-15
        )
        opt.step()
        if step < 50:
            reference.step()
