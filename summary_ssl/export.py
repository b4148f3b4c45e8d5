"""Export the encoder of a pretraining run, from any of its checkpoints.

    python -m summary_ssl.export results/summarymixing_w2v2/1986 \\
        [--checkpoint results/.../save/CKPT+...] [--to exported_folder]

It rebuilds the model from the run's ``hyperparams.yaml`` (the copy
SpeechBrain writes into the output folder, overrides applied), loads the
weights of its ``encoder_to_export`` (the wav2vec 2.0 encoder, or the
S3LSpeech student's encoder) from the chosen checkpoint (default: the
newest), and writes a self-contained folder (see
:mod:`summary_ssl.pretrained`).

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import pathlib

import torch
from hyperpyyaml import load_hyperpyyaml

from summary_ssl.pretrained import export_encoder


def newest_checkpoint(save_folder):
    """The most recently written ``CKPT+*`` folder in ``save_folder``.

    Arguments
    ---------
    save_folder : pathlib.Path
        A Checkpointer's folder.

    Returns
    -------
    pathlib.Path
    """
    ckpts = [p for p in pathlib.Path(save_folder).glob("CKPT+*") if p.is_dir()]
    if not ckpts:
        raise FileNotFoundError(f"No CKPT+* checkpoint in {save_folder}")
    return max(ckpts, key=lambda p: (p / "CKPT.yaml").stat().st_mtime)


def load_weights(module, checkpointer, checkpoint):
    """Loads ``module``'s weights from the checkpoint file of the
    recoverable that is, or contains, it.

    Arguments
    ---------
    module : torch.nn.Module
        A module of the run's YAML.
    checkpointer : speechbrain.utils.checkpoints.Checkpointer
        The run's checkpointer (from the same YAML).
    checkpoint : pathlib.Path
        A ``CKPT+*`` folder.
    """
    for name, recoverable in checkpointer.recoverables.items():
        if isinstance(recoverable, torch.nn.Module) and any(
            sub is module for sub in recoverable.modules()
        ):
            weights = checkpoint / f"{name}.ckpt"
            if not weights.is_file():
                raise FileNotFoundError(f"{weights} not found")
            state = torch.load(weights, map_location="cpu")
            recoverable.load_state_dict(state)
            return
    raise ValueError("no checkpoint recoverable holds the exported encoder")


def export_run(run_folder, checkpoint=None, to=None):
    """Exports the encoder of one run; returns the exported folder.

    Arguments
    ---------
    run_folder : str or pathlib.Path
        The recipe's ``output_folder`` (holds ``hyperparams.yaml``).
    checkpoint : str or pathlib.Path, optional
        A ``CKPT+*`` folder; default the newest in the run's save folder.
    to : str or pathlib.Path, optional
        Destination; default ``<run_folder>/exported_encoder``.

    Returns
    -------
    pathlib.Path
    """
    run_folder = pathlib.Path(run_folder)
    hparams_path = run_folder / "hyperparams.yaml"
    if not hparams_path.is_file():
        raise FileNotFoundError(f"{hparams_path} not found: not a run folder")
    with open(hparams_path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f)
    checkpoint = pathlib.Path(
        checkpoint or newest_checkpoint(hparams["save_folder"])
    )
    # Runs from before encoder_to_export existed exported wav2vec2.
    model = hparams.get("encoder_to_export", hparams.get("wav2vec2"))
    load_weights(model, hparams["checkpointer"], checkpoint)
    return export_encoder(
        model,
        to or run_folder / "exported_encoder",
        meta={"checkpoint": str(checkpoint.resolve())},
    )


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_folder")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--to", default=None)
    args = parser.parse_args(argv)
    folder = export_run(args.run_folder, args.checkpoint, args.to)
    print(f"Exported encoder to {folder}")


if __name__ == "__main__":
    main()
