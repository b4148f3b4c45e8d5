#!/usr/bin/env bash
# The whole GPU visit in one command, ending within 9 minutes (540 s).
#
# From the repository root of the checkout the device tool sends, with the
# wheels copied into .whl/ and the real speech into .carry/ (see
# benchmarks/README.md, "GPU visit": python tools/make_gpu_carry.py):
#     run(command="bash benchmarks/gpu_check.sh", carry=[".whl", ".carry"],
#         timeout_s=600)
# A CPU dry run at toy sizes (same stages, same files, 1-2 minutes):
#     GPU_CHECK_DRY=1 PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh
#
# Stages, most valuable first, each with a hard budget (a stage that runs
# over is interrupted and keeps what it measured: the benchmarks write
# their JSON after every cell and print their tables on SIGINT):
#   0. wheels + environment                                   (~15 s)
#   1. full pretraining step, L = 12.5 s: sb-wav2vec2-base eager,
#      summarymixing_w2v2 eager and compiled (the Brain's own regional
#      compile), each followed by a torch.profiler report of one step
#                                                     (budget <= 220 s)
#   2. GPU-only tests (pytest -m cuda)                     (budget <= 90 s)
#   3. learning at a real batch (issue 21, item 4): the paper's model
#      pretrained on .carry/real_speech, front end trained, 600 s of audio
#      per optimizer step; curve, codebook use, probes vs random-init and
#      fbank (tools/learning_stage.py)                 (budget <= 180 s)
#   4. encoder headline, T = 250, 1000, 4000: sb-RoPEMHA, SummaryMixing,
#      FlashMHA eager, then per-layer compiled with dynamic shapes (one
#      compilation per encoder, reused across T), then per-layer static
#      for SummaryMixing and sb-RoPEMHA if time is left
#                                      (the time left, budget <= 120 s)
#   5. summary: targets, MFU, projected GPU-hours         (~5 s)
# Files in $OUT (8, the device tool's limit): log.txt (the environment
# first, then every stage's output), step.json, step.md, profile.md,
# learning.json, encoder.json, encoder.md, summary.md. The tables are
# printed last.
set -uo pipefail

DRY=${GPU_CHECK_DRY:-0}
OUT=${OUT:-$PWD/gpu_check_out}
PY=${PYTHON:-python3}
if [ "$DRY" = 1 ]; then
    # generous: a shared CPU can be several times slower than an idle one
    TOTAL=${GPU_CHECK_SECONDS:-420}
    CAP_STEP=150 CAP_ENC=150 CAP_TESTS=60 CAP_LEARN=120
else
    TOTAL=${GPU_CHECK_SECONDS:-540}
    CAP_STEP=220 CAP_ENC=120 CAP_TESTS=90 CAP_LEARN=180
fi
MIN_ENC=$((CAP_ENC * 2 / 5)) MIN_TESTS=$((CAP_TESTS / 2)) MIN_REPORT=30
MIN_LEARN=$((CAP_LEARN * 2 / 3))
mkdir -p "$OUT"
LOG="$OUT/log.txt"
: >"$LOG"
STATUS=$(mktemp)
export PYTHONUNBUFFERED=1

left() { echo $((TOTAL - SECONDS)); }
# budget CAP RESERVE: at most CAP, leaving RESERVE seconds for what follows
budget() {
    local b=$(($(left) - $2))
    [ "$b" -gt "$1" ] && b=$1
    echo "$b"
}
# stage NAME BUDGET CMD...: runs CMD, SIGINT at BUDGET s, killed 15 s later
stage() {
    local name=$1 b=$2 t0=$SECONDS rc
    shift 2
    if [ "$b" -lt 15 ]; then
        echo "$name: skipped, no time left" >>"$STATUS"
        return
    fi
    echo "== $name: budget ${b} s (elapsed ${SECONDS} s)" | tee -a "$LOG"
    timeout -s INT -k 15 "$b" "$@" 2>&1 | tee -a "$LOG"
    rc=${PIPESTATUS[0]}
    echo "$name: rc=$rc in $((SECONDS - t0)) s (budget $b s)" >>"$STATUS"
}

# 0. Wheels (speechbrain, hyperpyyaml, ruamel.yaml(+clib), soundfile, cffi,
#    pycparser, jiwer, rapidfuzz, click: the GPU machine has none of them).
if [ "$DRY" != 1 ] && compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "wheel install failed" >&2; exit 1; }
    export PYTHONPATH=/tmp/site:$PWD
else
    [ "$DRY" != 1 ] && echo "WARNING: no .whl/ carried" | tee -a "$LOG"
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit \
        --format=csv 2>&1 || true
    "$PY" - <<'EOF'
import platform, torch
print("python", platform.python_version(), "torch", torch.__version__,
      "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", p.name, p.multi_processor_count, "SMs",
          round(p.total_memory / 2**30, 1), "GiB")
else:
    print("device: NO CUDA DEVICE (dry run?)")
import speechbrain, summary_ssl
print("speechbrain", speechbrain.__version__, "summary_ssl", summary_ssl.__file__)
EOF
} 2>&1 | tee -a "$LOG"

if [ "$DRY" = 1 ]; then
    STEP_ARGS=(--device cpu --precision fp32 --utt-seconds 1
        --batch-seconds 2 --warmup 1 --iters 2 --compile-backend eager
        --set num_encoder_layers=2 d_model=64 d_ffn=128 nhead=4
        kernel_size=7 n_mels=20 "frontend_channels=[4,2]" proj_dim=32
        quantiser_vars=16 num_negatives=10
        --sb-set num_layers=2 embedding_dim=64 d_ffn=128 nhead=4
        conv_dim=16 extractor_dim=16 final_dim=32 quantiser_vars=16
        num_negatives=10 mask_length=5)
    ENC_ARGS=(--device cpu --layers 2 --d-model 32 --d-ffn 64 --nhead 4
        --kernel 7 --frames 64 --seq-lens 16,32 --warmup 1 --iters 2
        --compile-backend eager)
    TEST_DEVICE=cpu
    # a few files of the full corpus (make_gpu_carry.py --dry), a 1 x 64 model
    LEARN_ROOT=${REAL_SPEECH:-../shared/real_speech}
    LEARN_ARGS=(--dry)
else
    STEP_ARGS=(--utt-seconds 12.5)
    ENC_ARGS=(--seq-lens 250,1000,4000)
    TEST_DEVICE=cuda
    LEARN_ROOT=${REAL_SPEECH:-.carry/real_speech}
    LEARN_ARGS=()
fi

# 1. Full pretraining step (+ profile of the compiled step).
B=$(budget $CAP_STEP $((MIN_LEARN + MIN_ENC + MIN_TESTS + MIN_REPORT)))
stage "step" "$B" "$PY" benchmarks/pretrain_step_bench.py \
    --models sb-wav2vec2-base,summarymixing_w2v2 --modes eager,compiled \
    --suppress-compile-errors --profile "$OUT/profile.md" \
    --max-seconds $((B - B / 8)) \
    --json "$OUT/step.json" "${STEP_ARGS[@]}"

# 2. GPU-only tests (the ``cuda`` mark of tests/conftest.py's
#    requires_cuda; short, so that the encoder stage gets the time they
#    leave). Selecting them by name ("gpu or cuda") also picked this
#    script's own dry-run test on the first visit, which took the stage's
#    whole budget.
B=$(budget $CAP_TESTS $((MIN_LEARN + MIN_ENC + MIN_REPORT)))
stage "gpu tests" "$B" "$PY" -m pytest tests -q -p no:cacheprovider \
    --device "$TEST_DEVICE" -m cuda

# 3. Learning at a real batch: its own deadline (--budget) ends training in
#    time for the probes; learning.json is rewritten at every step log.
B=$(budget $CAP_LEARN $((MIN_ENC + MIN_REPORT)))
if [ -d "$LEARN_ROOT" ]; then
    stage "learning" "$B" "$PY" tools/learning_stage.py \
        ${LEARN_ARGS[@]+"${LEARN_ARGS[@]}"} \
        --root "$LEARN_ROOT" --budget $((B - 10)) \
        --work "${TMPDIR:-/tmp}/learning_stage" --json "$OUT/learning.json"
else
    echo "learning: skipped, no real speech at $LEARN_ROOT (GPU: carry" \
        ".carry, built by tools/make_gpu_carry.py)" | tee -a "$LOG" >>"$STATUS"
fi

# 4. Encoder headline, eager then per-layer compiled, in the time left.
B=$(budget $CAP_ENC $MIN_REPORT)
stage "encoder" "$B" "$PY" benchmarks/encoder_bench.py \
    --encoders sb-RoPEMHA,SummaryMixing,FlashMHA \
    --modes eager,layer-dyn,layer=SummaryMixing+sb-RoPEMHA \
    --max-seconds $((B - B / 8)) --json "$OUT/encoder.json" "${ENC_ARGS[@]}"

# 5. Summary, then the tables last (the tool returns the output's tail).
"$PY" benchmarks/gpu_check_report.py --out "$OUT" --status "$STATUS" \
    >>"$LOG" 2>&1
rm -f "$STATUS"
[ -f "$OUT/learning.json" ] \
    && "$PY" tools/learning_stage.py --report "$OUT/learning.json" --no-curve
[ -f "$OUT/profile.md" ] && tac "$OUT/profile.md" \
    | sed '/^## Profile/q' | tac | head -34 # the last (compiled) profile
[ -f "$OUT/encoder.md" ] && sed -n '/^### T/,$p' "$OUT/encoder.md"
[ -f "$OUT/step.md" ] && sed -n '/^### L/,$p' "$OUT/step.md" | grep -v '^- '
cat "$OUT/summary.md" 2>/dev/null
echo "gpu_check: ${SECONDS} s"
