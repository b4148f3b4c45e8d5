"""Learning at a real batch: does the codebook still collapse? (issue 21,
item 4; stage 3 of ``benchmarks/gpu_check.sh``, about 3 minutes on an H100).

On CPU, with about 30 s of audio per optimizer step, a trained front end
collapsed the codebook within ~50 steps (2-5 of 320 codes in use). This
pretrains the wav2vec 2.0 recipe (``W2V2Brain``, ``train.py``'s own
``run_pretraining``) on real speech with the front end trained and 10
minutes of audio per optimizer step, records the learning curve, then
probes the encoder with ``tools/real_speech_eval.py``.

* **Model** (``--model paper``, the default): ``summarymixing_w2v2.yaml``
  as it is, the paper's 155M-parameter model (12 x 768 SummaryMixing
  Conformer, mel_cnn_base front end, ``feature_grad_mult: 1.0``, the
  paper's masking, negatives, diversity weight and Gumbel schedule). The
  question is whether *this* recipe collapses; at the eager step's 2,169
  audio-s/s (H100, bf16, ``benchmarks/RESULTS.md``) one 600-s step costs
  about 0.3 s, so ~200 steps (~33 h of audio seen) fit in ~90 s, and a
  slimmer model would answer a question about a model nobody trains.
  ``--dry`` trains a 1 x 64 model (``toy``) on a few files, on the CPU.
* **What differs from the YAML** (``PRESETS``): 150 s per micro-batch x 4
  = 600 s per optimizer step (the paper: 360 x 4 x 4 GPUs); bf16 (the
  paper: fp16); lengths 1-30 s (keywords are 1-4 s); ``--steps`` steps
  (LR warmup over the first 10 %, then linear decay); a step log every
  ``--log-every`` steps; no checkpoints; training stops at a deadline
  that leaves time for the probes.
* **Data**: ``real_speech_eval.link_train_folder`` (the keywords'
  training files and train-clean-100 excerpts; 3 files per keyword held
  out for validation; never a probe's test file), from ``--root``: the
  full ``../shared/real_speech`` or the subset that
  ``tools/make_gpu_carry.py`` builds for the GPU machine. The prepared
  list is repeated so that the whole run is one epoch.
* **Curve**, at every step log: the step log's training means (loss,
  contrastive accuracy, code perplexity of the masked frames' hard codes,
  Gumbel temperature, LR, audio-s/s) and, on a fixed held-out *code set*
  (the validation files and one test-other file per speaker, eval mode),
  the codes in use per group, the distinct code pairs and their
  perplexity. The first row is the model before training.
* **Probes**: ``real_speech_eval.evaluate`` (keywords, 100 and 10 labels;
  speaker EER; every layer) of the pretrained encoder, of the same
  encoder before pretraining (``random-init``) and of 80 filterbanks,
  the encoders run on the GPU; best and top layer as
  ``real_speech_check.py`` reports them.

Everything goes to one file, ``--json`` (``learning.json``), rewritten at
every step log and after each probe, so a cut run keeps what it measured;
``--report learning.json`` prints its tables (markdown).

Usage::

    python tools/learning_stage.py --root .carry/real_speech \\
        --json $OUT/learning.json --budget 170          # the GPU stage
    python tools/learning_stage.py --model toy --dry \\
        --json /tmp/learning.json                       # CPU, ~1 minute
    python tools/learning_stage.py --report /tmp/learning.json

Authors
-------
* summary_ssl contributors 2026
"""

import argparse
import csv
import json
import math
import os
import platform
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_speech_check as rsc  # noqa: E402
import real_speech_eval as rse  # noqa: E402
import torch  # noqa: E402
from learning_report import render  # noqa: E402

# Each preset: recipe keys (the rest is the YAML's), then the stage's own.
PRESETS = {
    "paper": dict(
        keys=dict(
            precision="bf16",
            max_batch_length=150,
            grad_accumulation_factor=4,
            num_buckets=20,
            min_duration=1.0,
            max_duration=30.0,
            num_workers=8,
        ),
        steps=200,
        log_every=5,
        probe_reserve=70,  # s: export, 3 probes, margin
        n_train=100,
        n_test=60,
    ),
    "toy": dict(
        keys=dict(
            precision="fp32",
            device="cpu",
            num_encoder_layers=1,
            d_model=64,
            d_ffn=128,
            nhead=4,
            kernel_size=7,
            n_mels=20,
            frontend_channels="[32,32]",
            proj_dim=32,
            quantiser_vars=16,
            num_negatives=10,
            max_batch_length=16,
            grad_accumulation_factor=2,
            num_buckets=5,
            min_duration=1.0,
            max_duration=16.0,
            num_workers=0,
        ),
        steps=4,
        log_every=2,
        probe_reserve=40,
        n_train=12,  # make_gpu_carry.DRY (the unreadable alexa file among them)
        n_test=3,
    ),
}


class Record:
    """The stage's JSON, rewritten whole at every change."""

    def __init__(self, path, meta):
        self.path = path
        self.data = dict(
            meta=meta, status="starting", curve=[], valid=[], probe=[]
        )
        self.write()

    def set(self, **items):
        self.data.update(items)
        self.write()

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, self.path)  # never half a file


@torch.no_grad()
def code_usage(wav2vec2, objective, wavs, lens):
    """Hard codes of the quantiser (eval mode) on the code set: codes in
    use per group, distinct code tuples, perplexity (sum over groups of
    exp entropy, of at most G x V)."""
    modes = wav2vec2.training, objective.training
    wav2vec2.eval()
    objective.eval()
    try:
        latents, frames = wav2vec2.frontend(
            wavs, wav2vec2.sample_lengths(wavs, lens)
        )
        valid = torch.arange(latents.shape[1], device=wavs.device) < frames[
            :, None
        ].to(wavs.device)
        quantiser = objective.quantiser
        out = quantiser(latents.float(), valid)
        codes = out["codes"][valid]
        V, G = quantiser.num_vars, quantiser.groups
        return {
            "codes_in_use": [
                int(((codes // V**g) % V).unique().numel()) for g in range(G)
            ],
            "codes_per_group": V,
            "code_tuples": int(codes.unique().numel()),
            "code_set_perplexity": round(float(out["code_perplexity"]), 2),
            "code_set_frames": int(valid.sum()),
        }
    finally:
        wav2vec2.train(modes[0])
        objective.train(modes[1])


def make_brain_class(record, code_set, deadline, initial_folder):
    """W2V2Brain that records the curve, stops at ``deadline`` and saves
    no checkpoints (the run is short; a 155M model's would cost seconds)."""
    from summary_ssl.brains.pretraining import unwrap
    from summary_ssl.brains.wav2vec2 import W2V2Brain
    from summary_ssl.pretrained import export_encoder

    class LearningBrain(W2V2Brain):
        def __init__(self, *args, **kwargs):
            kwargs["checkpointer"] = None
            super().__init__(*args, **kwargs)

        def _codes(self):
            wavs, lens = (t.to(self.device) for t in code_set)
            return code_usage(
                unwrap(self.modules.wav2vec2),
                unwrap(self.modules.objective),
                wavs,
                lens,
            )

        def on_fit_start(self):
            super().on_fit_start()
            export_encoder(unwrap(self.modules.wav2vec2), initial_folder)
            record.data["curve"].append(
                {"step": 0, "elapsed_s": _elapsed(), **self._codes()}
            )
            record.set(status="training")

        def on_fit_batch_end(self, batch, outputs, loss, should_step):
            super().on_fit_batch_end(batch, outputs, loss, should_step)
            if not should_step:
                return
            if self.optimizer_step % self.hparams.log_interval == 0:
                with open(self.hparams.train_log_file) as f:
                    last = json.loads(f.readlines()[-1])
                row = {**last, "elapsed_s": _elapsed(), **self._codes()}
                record.data["curve"].append(row)
                record.write()
            if time.time() > deadline:
                self.optimizer_step_limit = self.optimizer_step  # stop
                record.data["stopped_at_deadline"] = self.optimizer_step

        def on_stage_end(self, stage, stage_loss, epoch=None):
            import speechbrain as sb

            if stage == sb.Stage.TRAIN:
                return super().on_stage_end(stage, stage_loss, epoch)
            stats = self.valid_stats
            means = {
                k: round(sum(s[k] for s in stats) / len(stats), 4)
                for k in (stats[0] if stats else {})
            }
            record.data["valid"].append(
                {
                    "step": self.optimizer_step,
                    "loss": float(stage_loss),
                    **means,
                }
            )
            record.write()

    return LearningBrain


_T0 = time.time()


def _elapsed():
    return round(time.time() - _T0, 1)


def load_code_set(files):
    """(wavs, relative lengths) of the code set, zero-padded."""
    from summary_ssl.dataio.audio_checks import load_audio

    wavs = []
    for f in files:
        try:
            wavs.append(load_audio(f))
        except Exception:  # an unreadable file is simply not used
            continue
    n = max(len(w) for w in wavs)
    x = torch.zeros(len(wavs), n)
    for i, w in enumerate(wavs):
        x[i, : len(w)] = w
    return x, torch.tensor([len(w) / n for w in wavs])


def prepare(root, work, keys, repeat_for_seconds):
    """Links and prepares the pretraining folders, then writes the
    recipe's train.csv (the prepared rows, repeated so that one epoch
    holds ``repeat_for_seconds`` of audio) and valid.csv into
    ``work/pretrain``. Returns (output folder, info)."""
    from summary_ssl.dataio.audio_folder import prepare_audio_folder

    data = os.path.join(work, "data")
    rse.link_train_folder(root, data)
    prep = os.path.join(work, "prep")
    common = dict(
        min_duration=float(keys["min_duration"]),
        max_duration=float(keys["max_duration"]),
        progress=False,
        workers=max(int(keys["num_workers"]), 1),
    )
    csvs = {
        name: prepare_audio_folder(
            os.path.join(data, name), prep, f"{name}.csv", **common
        )
        for name in ("train", "valid")
    }
    with open(csvs["train"], newline="") as f:
        rows = list(csv.DictReader(f))
    seconds = sum(float(r["duration"]) for r in rows)
    repeats = max(1, math.ceil(repeat_for_seconds / seconds))
    out = os.path.join(work, "pretrain")
    os.makedirs(out)
    with open(os.path.join(out, "train.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for i in range(repeats):
            for r in rows:
                writer.writerow({**r, "ID": f"{r['ID']}_r{i}"})
    shutil.copyfile(csvs["valid"], os.path.join(out, "valid.csv"))
    info = dict(
        train_files=len(rows),
        train_minutes=round(seconds / 60, 1),
        repeats=repeats,
    )
    return out, data, info


def probe(record, root, folders, device, n_train, n_test):
    """Probes each encoder in turn (GPU when there is one); each result
    is written as soon as it is known."""
    from summary_ssl.pretrained import FrozenSSLEncoder
    from summary_ssl.probes.features import FbankFeatures

    class OnDevice(torch.nn.Module):
        def __init__(self, extractor):
            super().__init__()
            self.extractor = extractor.to(device)

        def forward(self, wavs, lens):
            hidden, frame_lens = self.extractor(
                wavs.to(device), lens.to(device)
            )
            return hidden.float().cpu(), frame_lens.cpu()

    results = []
    for name, make in (
        ("pretrained", lambda: OnDevice(FrozenSSLEncoder(folders[0]))),
        ("random-init", lambda: OnDevice(FrozenSSLEncoder(folders[1]))),
        ("fbank", lambda: FbankFeatures(80)),
    ):
        torch.manual_seed(0)
        start = time.time()
        rows, counts = rse.evaluate(make(), root, n_train, n_test)
        summary = rsc.summary(name, rows, time.time() - start)
        results.append((summary, rows))
        record.data["probe"].append({**summary, "rows": rows, **counts})
        record.write()
    return results


def recipe_argv(preset, out, data, steps, log_every, extra):
    """train.py's command line for the stage."""
    keys = dict(preset["keys"])
    keys.update(
        data_source="folder",
        data_folder=data,
        train_data_folder=os.path.join(data, "train"),
        valid_data_folder=os.path.join(data, "valid"),
        output_folder=out,
        skip_prep=True,
        optimizer_step_limit=steps,
        warmup_steps=max(1, steps // 10),
        number_of_epochs=1,
        log_interval=log_every,
        ckpt_interval_minutes=0,
    )
    keys.update(extra)
    yaml = os.path.join(rsc.RECIPE, rsc.YAML)
    return [yaml, "--noprogressbar"] + [
        f"--{k}={v}" for k, v in keys.items()
    ], keys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=rse.DEFAULT_ROOT)
    parser.add_argument("--work", default="/tmp/learning_stage")
    parser.add_argument("--json", default="learning.json")
    parser.add_argument("--model", choices=sorted(PRESETS), default="paper")
    parser.add_argument("--steps", type=int, help="optimizer steps (plan)")
    parser.add_argument("--log-every", type=int, help="steps between logs")
    parser.add_argument(
        "--budget", type=float, default=170, help="seconds for it all"
    )
    parser.add_argument(
        "--dry",
        action="store_true",
        help="CPU smoke run: the toy model on a few files (a subset of "
        "--root made by make_gpu_carry.py --dry, unless --root is one)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="K=V")
    parser.add_argument("--report", metavar="JSON", help="print its tables")
    parser.add_argument(
        "--no-curve", action="store_true", help="--report without the curve"
    )
    args = parser.parse_args()
    if args.report:
        with open(args.report) as f:
            print(render(json.load(f), curve_table=not args.no_curve))
        return
    if not os.path.isdir(args.root):
        parser.error(f"no real_speech folder at {args.root} (--root)")
    preset = PRESETS["toy" if args.dry else args.model]
    steps = args.steps or preset["steps"]
    log_every = args.log_every or preset["log_every"]
    extra = dict(s.split("=", 1) for s in args.set)
    deadline = _T0 + args.budget - preset["probe_reserve"]
    cuda = torch.cuda.is_available() and preset["keys"].get("device") != "cpu"
    device = "cuda:0" if cuda else "cpu"
    keys = {**preset["keys"], **extra}
    per_step = float(keys["max_batch_length"]) * int(
        keys["grad_accumulation_factor"]
    )
    record = Record(
        args.json,
        dict(
            date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            command=" ".join([os.path.basename(sys.executable)] + sys.argv),
            device=torch.cuda.get_device_name(0) if cuda else "cpu",
            torch=torch.__version__,
            python=platform.python_version(),
            model="toy" if args.dry else args.model,
            yaml=rsc.YAML,
            audio_per_step_s=per_step,
            batch=f"{keys['max_batch_length']} s x "
            f"{keys['grad_accumulation_factor']} micro-batches",
            planned_steps=steps,
            budget_s=args.budget,
            root=os.path.abspath(args.root),
            dry=args.dry,
        ),
    )
    try:
        if os.path.exists(args.work):
            shutil.rmtree(args.work)
        root = args.root
        if args.dry and not os.path.isfile(os.path.join(root, rse.BLOCKS_FILE)):
            import make_gpu_carry

            root = os.path.join(args.work, "carry")
            make_gpu_carry.build(args.root, root, 2**30, link=True, dry=True)
        out, data, info = prepare(root, args.work, keys, per_step * (steps + 2))
        argv, keys = recipe_argv(preset, out, data, steps, log_every, extra)
        code_files = sorted(
            os.path.join(dp, f)
            for dp, _, fs in os.walk(os.path.join(data, "valid"))
            for f in fs
        )
        by_speaker = {}
        for f, spk in rse.speaker_files(root):
            by_speaker.setdefault(spk, f)
        code_set = load_code_set(code_files + sorted(by_speaker.values()))
        initial = os.path.join(args.work, "initial_encoder")
        record.data["meta"].update(
            data=f"{info['train_files']} files, {info['train_minutes']} min "
            f"(listed {info['repeats']} times: one epoch)",
            overrides=keys,
            lr=keys.get("lr", "0.0005 (YAML)"),
            precision=keys["precision"],
            feature_grad_mult=keys.get("feature_grad_mult", "1.0 (YAML)"),
            code_set=f"{len(code_set[1])} files (validation + one "
            "test-other file per speaker)",
        )
        record.set(status="preparing")
        from summary_ssl.brains.recipe import run_pretraining

        brain_class = make_brain_class(record, code_set, deadline, initial)
        if cuda:
            argv.append("--device=cuda:0")
        brain = run_pretraining(brain_class, argv)
        record.data["meta"]["parameters_m"] = round(
            sum(p.numel() for p in brain.modules.parameters()) / 1e6, 1
        )
        record.set(status="probing", train_end_s=_elapsed())
        exported = brain.hparams.export_folder
        del brain
        probe(
            record,
            root,
            (exported, initial),
            device,
            preset["n_train"],
            preset["n_test"],
        )
        record.set(status="done", total_s=_elapsed())
    except KeyboardInterrupt:
        record.set(status=f"interrupted at {_elapsed()} s")
    except (Exception, SystemExit) as e:  # recorded, then raised again
        record.set(status="error", error=f"{type(e).__name__}: {e}")
        raise
    finally:
        print(render(record.data))


if __name__ == "__main__":
    main()
