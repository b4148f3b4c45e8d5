#!/usr/bin/env python3
"""CTC fine-tuning of an exported summary_ssl encoder on LibriSpeech-style
data: full, frozen, LoRA or READ adaptation.

    python train.py hparams/base_10h.yaml --encoder_folder=EXPORTED_DIR \\
        --data_folder=/librispeech_finetuning --eval_data_folder=/LibriSpeech
    python train.py hparams/base_100h.yaml --encoder_folder=EXPORTED_DIR \\
        --data_folder=/LibriSpeech --adaptation=lora
    ... --random_init=True      # the same architecture, fresh weights

Writes under the output folder: ``wer_<split>.txt`` / ``cer_<split>.txt``
per test split (SpeechBrain's ErrorRateStats format), ``results.json``
and ``results.md`` (adaptation, trainable parameters, peak memory, time
per step, WER / CER), and the fine-tuned model in ``finetuned_model/``
(``python transcribe.py <output>/finetuned_model audio.flac``). A killed
run resumes from its last checkpoint when started again.

Authors
-------
* summary_ssl contributors 2026
"""

import csv
import logging
import os
import sys

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.dataio import merge_csvs
from speechbrain.utils.distributed import if_main_process, run_on_main

from summary_ssl.brains.recipe import (
    length_sampler,
    recipe_yaml_and_overrides,
)
from summary_ssl.dataio.librispeech import prepare_librispeech
from summary_ssl.dataio.prepare_utils import split_stem as split_name
from summary_ssl.dataio.readable_batches import load_audio_or_empty
from summary_ssl.finetune.adaptation import AdaptedEncoder
from summary_ssl.finetune.ctc_brain import (
    CTCFineTuneBrain,
    write_results,
)
from summary_ssl.finetune.finetuned_model import export_finetuned
from summary_ssl.finetune.regularisation import set_regularisation
from summary_ssl.finetune.tokens import build_tokenizer, filter_csv
from summary_ssl.finetune.trainable_checkpoint import (
    load_trainable,
    save_trainable,
)
from summary_ssl.pretrained import build_encoder
from summary_ssl.probes.asr import CTC_REDUCTIONS, DECODERS

logger = logging.getLogger(__name__)


def prepare_split(data_folder, split, hparams):
    """Prepares one split (nested ones included) and filters its
    transcripts; returns the CSV of usable rows."""
    out = hparams["output_folder"]
    name = split_name(split)
    # One folder per split: each keeps its own record of the options it
    # was prepared with (a nested split gives <save>/<name>.csv).
    prepared = prepare_librispeech(
        data_folder,
        os.path.join(out, "data", name),
        splits=[split],
        sample_rate=hparams["sample_rate"],
        min_duration=hparams["min_duration"],
        max_duration=hparams["max_duration"],
        skip_prep=hparams["skip_prep"],
        decode=hparams["decode_check"],
        progress=False,
        workers=max(1, hparams["num_workers"]),
    )
    filtered = os.path.join(out, "data", f"{name}.csv")
    filter_csv(prepared[split], filtered, hparams["characters"])
    return filtered


def prepare_csvs(hparams):
    """Train, valid and per-test-split CSVs (main process)."""
    out = hparams["output_folder"]
    data = os.path.join(out, "data")
    os.makedirs(data, exist_ok=True)
    sets = {
        "train": (hparams["data_folder"], hparams["train_splits"]),
        "valid": (hparams["eval_data_folder"], hparams["dev_splits"]),
    }
    csvs = {}
    for name, (folder, splits) in sets.items():
        parts = [prepare_split(folder, s, hparams) for s in splits]
        merge_csvs(data, [os.path.basename(p) for p in parts], f"{name}.csv")
        csvs[name] = os.path.join(data, f"{name}.csv")
    for split in hparams["test_splits"]:
        csvs[f"test:{split}"] = prepare_split(
            hparams["eval_data_folder"], split, hparams
        )
    return csvs


def count_rows(path):
    """Rows of a CSV (without the header)."""
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.DictReader(f))


def dataset(csv_path, tokenizer, sample_rate):
    """A DynamicItemDataset yielding id, sig, wrd and tokens."""
    data = sb.dataio.dataset.DynamicItemDataset.from_csv(csv_path)

    @sb.utils.data_pipeline.takes("wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(wav):
        return load_audio_or_empty(wav, sample_rate=sample_rate)

    @sb.utils.data_pipeline.takes("wrd")
    @sb.utils.data_pipeline.provides("wrd", "tokens")
    def text_pipeline(wrd):
        yield wrd
        yield torch.LongTensor(tokenizer.encode(wrd))

    data.add_dynamic_item(audio_pipeline)
    data.add_dynamic_item(text_pipeline)
    data.set_output_keys(["id", "sig", "wrd", "tokens"])
    return data


def load_hparams(argv):
    """Command line -> (hparams file, hparams, run_opts, overrides)."""
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    hparams_file, overrides = recipe_yaml_and_overrides(
        hparams_file, run_opts, overrides
    )
    with open(hparams_file, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)
    return hparams_file, hparams, run_opts, overrides


def build_model(encoder, hparams, vocab_size):
    """The adapted encoder (with fairseq's fine-tuning regularisation)
    and the CTC head."""
    set_regularisation(
        encoder,
        dropout=hparams["dropout"],
        attention_dropout=hparams["attention_dropout"],
        activation_dropout=hparams["activation_dropout"],
        layerdrop=hparams["layerdrop"],
    )
    adapted = AdaptedEncoder(
        encoder,
        hparams["adaptation"],
        lora_rank=hparams["lora_rank"],
        lora_alpha=hparams["lora_alpha"],
        lora_targets=hparams["lora_targets"],
        read_hidden=hparams["read_hidden"],
        read_cell=hparams["read_cell"],
        read_aggregate=hparams["read_aggregate"],
        time_masking=hparams["mask_prob"] > 0,
    )
    head = torch.nn.Linear(adapted.out_dim, vocab_size)
    return adapted, head


def main(argv=None):
    """Runs the recipe; returns the Brain (for tests)."""
    argv = sys.argv[1:] if argv is None else argv
    hparams_file, hparams, run_opts, overrides = load_hparams(argv)
    if hparams["test_decoder"] not in DECODERS:  # fail now, not after training
        raise ValueError(f"test_decoder must be one of {DECODERS}")
    if hparams["ctc_reduction"] not in CTC_REDUCTIONS:
        raise ValueError(f"ctc_reduction must be one of {CTC_REDUCTIONS}")
    sb.utils.distributed.ddp_init_group(run_opts)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    # The encoder first: a missing or mismatched folder fails before any
    # data preparation.
    encoder = build_encoder(hparams["encoder_folder"], hparams["random_init"])
    csvs = {}
    run_on_main(lambda: csvs.update(prepare_csvs(hparams)))
    if not csvs:  # other ranks: the files are there
        csvs = {
            "train": os.path.join(hparams["output_folder"], "data/train.csv"),
            "valid": os.path.join(hparams["output_folder"], "data/valid.csv"),
        }
        for split in hparams["test_splits"]:
            csvs[f"test:{split}"] = os.path.join(
                hparams["output_folder"], "data", f"{split_name(split)}.csv"
            )
    for name, path in csvs.items():
        if count_rows(path) == 0:
            raise ValueError(f"{name}: no usable utterance in {path}")
    tokenizer = build_tokenizer(
        hparams["token_type"],
        csvs["train"],
        os.path.join(hparams["save_folder"], "tokenizer"),
        hparams["bpe_vocab_size"],
        hparams["characters"],
    )
    adapted, head = build_model(encoder, hparams, len(tokenizer))
    checkpointer = hparams["checkpointer"]
    # What trains, not the frozen backbone (rebuilt from encoder_folder).
    checkpointer.add_recoverable(
        "encoder",
        adapted,
        custom_save_hook=save_trainable,
        custom_load_hook=load_trainable,
    )
    checkpointer.add_recoverable("ctc_lin", head)
    brain = CTCFineTuneBrain(
        modules={"encoder": adapted, "ctc_lin": head},
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=checkpointer,
    )
    brain.tokenizer = tokenizer
    sr = hparams["sample_rate"]
    train = dataset(csvs["train"], tokenizer, sr)
    valid = dataset(csvs["valid"], tokenizer, sr)
    workers = hparams["num_workers"]
    brain.fit(
        brain.hparams.epoch_counter,
        train,
        valid,
        train_loader_kwargs={
            "batch_sampler": length_sampler(train, hparams, shuffle=True),
            "num_workers": workers,
        },
        valid_loader_kwargs={
            "batch_sampler": length_sampler(valid, hparams, shuffle=False),
            "num_workers": workers,
        },
    )
    for split in hparams["test_splits"]:
        brain.test_name = split_name(split)
        test = dataset(csvs[f"test:{split}"], tokenizer, sr)
        brain.evaluate(
            test,
            min_key="WER",
            test_loader_kwargs={
                "batch_sampler": length_sampler(test, hparams, shuffle=False),
                "num_workers": workers,
            },
        )
    if if_main_process():
        row = brain.results()
        write_results(row, hparams["output_folder"])
        export_finetuned(
            hparams["export_folder"],
            adapted,
            head,
            tokenizer,
            hparams,
            merge=hparams["export_merge_lora"],
            meta={
                "encoder_folder": os.path.abspath(hparams["encoder_folder"]),
                "random_init": hparams["random_init"],
                "optimizer_step": brain.optimizer_step,
                "test": row["test"],
            },
        )
    return brain


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = False
    main()
