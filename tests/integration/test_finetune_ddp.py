"""Two-process DDP CTC fine-tuning on CPU (gloo), as torchrun runs it,
through fairseq's head-only phase (``freeze_finetune_updates``) and out
of it, for the adaptations that train something in the encoder.

Run as a script, this file is the worker of one rank.
"""

import pathlib
import sys

import pytest
import torch

from tests.integration.torchrun import torchrun

REPO = pathlib.Path(__file__).resolve().parents[2]
STEPS, HEAD_ONLY = 6, 3
ADAPTATIONS = ("full", "lora", "read")


def worker(output, encoder, adaptation):
    """One rank: fine-tunes with ``adaptation`` (time masking off, as a
    fine-tuning without masks runs), saves what the test compares."""
    import torch.distributed as dist

    from tests.integration.test_finetune_ctc import TOY, YAML, load_module
    from tools.toy import to_argv

    overrides = dict(
        TOY,
        encoder_folder=str(encoder),
        output_folder=str(output),
        adaptation=adaptation,
        optimizer_step_limit=STEPS,
        freeze_finetune_updates=HEAD_ONLY,
    )
    brain = load_module("train").main(
        to_argv(YAML, overrides)
        + ["--device=cpu", "--noprogressbar", "--distributed_backend=gloo"]
    )
    modules = {
        name: getattr(module, "module", module)  # inside DDP
        for name, module in brain.modules.items()
    }
    state = {
        f"{name}.{key}": value.clone()
        for name, module in modules.items()
        for key, value in module.state_dict().items()
    }
    torch.save(
        {"optimizer_step": brain.optimizer_step, "state": state},
        pathlib.Path(output) / f"rank{dist.get_rank()}.pt",
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tests.probe_helpers import export_tiny_encoder

    return export_tiny_encoder(
        tmp_path_factory.mktemp("finetune_ddp") / "encoder",
        channels=(32, 32),
        kernel_size=7,
        dropout_input=0.0,
    )


@pytest.mark.parametrize("adaptation", ADAPTATIONS)
def test_two_ranks_fine_tune_the_same_model(exported, adaptation, tmp_path):
    """Both ranks take every step, through the head-only phase and after
    it, and end with the same weights; what the adaptation trains moved
    from the exported encoder, and nothing else in it did."""
    port = 29617 + ADAPTATIONS.index(adaptation)
    out = tmp_path / "out"
    # ~10 s; a rank left waiting would hang. One process group per run:
    # re-initialising one in the same processes can hang.
    torchrun(__file__, out, exported, adaptation, port=port, timeout=300)
    a, b = [torch.load(out / f"rank{r}.pt") for r in (0, 1)]
    assert a["optimizer_step"] == b["optimizer_step"] == STEPS
    assert a["state"].keys() == b["state"].keys()
    for name in a["state"]:
        torch.testing.assert_close(
            a["state"][name], b["state"][name], rtol=0, atol=0
        )
    state, before = a["state"], torch.load(exported / "wav2vec2.ckpt")

    def moved(exported_name):
        name = f"encoder.encoder.{exported_name}"
        if name not in state:  # wrapped by LoRA
            name = name.replace(".weight", ".pretrained_module.weight")
            name = name.replace(".bias", ".pretrained_module.bias")
        return not torch.equal(state[name], before[exported_name])

    backbone = [n for n in before if n.startswith("encoder.layers.")]
    frontend = [n for n in before if n.startswith("frontend.")]
    assert backbone and frontend and not any(map(moved, frontend))
    if adaptation == "full":
        assert any(map(moved, backbone))
        return
    assert not any(map(moved, before))  # the backbone is untouched
    trained = "adapter_up_proj" if adaptation == "lora" else "side.up."
    assert any(
        trained in name and value.abs().sum() > 0  # zero-initialised
        for name, value in state.items()
    )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    worker(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3])
