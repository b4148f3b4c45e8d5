#!/usr/bin/env bash
# The one command to run on the GPU machine (H100) for the encoder benchmark.
#
# From the repository root, with the wheels carried in .whl/ (see
# benchmarks/README.md), through the device tool:
#     run(command="bash benchmarks/gpu_run.sh", carry=[".whl"], timeout_s=600)
#
# Modes (each ends well inside the tool's 10-minute limit):
#   bash benchmarks/gpu_run.sh            GPU tests, then the default
#                                         benchmark eager (8 encoders x 5 T),
#                                         then a compiled subset (regional
#                                         torch.compile: one compilation per
#                                         T shared by the 12 layers)
#   bash benchmarks/gpu_run.sh compile    whole-encoder torch.compile (as the
#                                         FACTS anchors were taken) for
#                                         sb-RoPEMHA and SummaryMixing at
#                                         T = 1000 and 4000
#   bash benchmarks/gpu_run.sh step       OPTIONAL, separate stage: the full
#                                         pretraining step
#                                         (pretrain_step_bench.py): eager,
#                                         SpeechBrain's wav2vec2-base + our 3
#                                         recipes x L = 5, 12.5, 25 s; then
#                                         per-layer compile of
#                                         summarymixing_w2v2 in the time left
#
# Time plan, from the FACTS section 7 anchors (~0.2 s per 32k-frame step for
# most encoders, up to ~1 s for SpeechBrain's RelPosMHAXL at T = 2000; each
# cell runs ~16 steps: 3 warm-up, 1 untimed, 10 timed, 1 sync check, 1
# finiteness check): tests <= 2 min, eager ~3.5-4.5 min, compiled the rest.
# The benchmark skips cells that would end past --max-seconds and is sent
# SIGINT (it then prints what it has) if it still runs too long; its JSON is
# rewritten after every cell.
#
# Output in $OUT (at most 8 files come back): env.txt, gpu_tests.log,
# eager.{log,json,md}, compile.{log,json,md}.
# The step mode writes env.txt, step_eager.{log,json,md} and
# step_compile.{log,json,md} instead.
set -uo pipefail

MODE=${1:-default}
OUT=${OUT:-$PWD/bench_out}
TOTAL=${TOTAL_SECONDS:-570}   # whole script, seconds
PY=${PYTHON:-python3}
# Extra benchmark flags, for a dry run of this script on a CPU machine, e.g.
# BENCH_EXTRA_ARGS="--device cpu --layers 2 --d-model 32 --d-ffn 64
#                   --nhead 4 --kernel 7 --frames 64 --seq-lens 16,32"
read -r -a EXTRA <<<"${BENCH_EXTRA_ARGS:-}"
# The same for the step mode (pretrain_step_bench.py flags), e.g.
# STEP_EXTRA_ARGS="--device cpu --precision fp32 --utt-seconds 1
#                  --batch-seconds 2 --set num_encoder_layers=2 ..."
read -r -a STEP_EXTRA <<<"${STEP_EXTRA_ARGS:-}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

# 1. Carried wheels (speechbrain, hyperpyyaml, ruamel.yaml(+clib), soundfile,
#    cffi, pycparser, jiwer, rapidfuzz): the machine has none of them.
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
else
    echo "WARNING: no .whl/ carried: speechbrain is probably missing" >&2
    export PYTHONPATH=$PWD
fi

left() { echo $((TOTAL - SECONDS)); }

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw \
        --format=csv 2>&1
    "$PY" - <<'EOF'
import platform, torch
print("python", platform.python_version(), "torch", torch.__version__,
      "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
if torch.cuda.is_available():
    props = torch.cuda.get_device_properties(0)
    print("device", props.name, props.multi_processor_count, "SMs",
          round(props.total_memory / 2**30, 1), "GiB")
else:
    print("device: NO CUDA DEVICE VISIBLE")
import speechbrain, summary_ssl
print("speechbrain", speechbrain.__version__, "summary_ssl", summary_ssl.__file__)
EOF
} 2>&1 | tee "$OUT/env.txt"

BENCH=("$PY" benchmarks/encoder_bench.py)
STATUS=()

if [ "$MODE" = "default" ]; then
    # 2. GPU tests (CUDA-only tests select themselves by name).
    timeout -k 10 150 "$PY" -m pytest tests -q -p no:cacheprovider \
        --device cuda -k "gpu or cuda" 2>&1 | tee "$OUT/gpu_tests.log"
    STATUS+=("gpu tests rc=${PIPESTATUS[0]} (5 = none selected)")

    # 3. Default config, eager, every encoder and T.
    EAGER=$(( $(left) - 150 < 270 ? $(left) - 150 : 270 ))
    echo "== eager benchmark, budget ${EAGER} s (elapsed ${SECONDS} s)"
    timeout -s INT -k 20 $((EAGER + 45)) "${BENCH[@]}" --max-seconds "$EAGER" \
        --json "$OUT/eager.json" "${EXTRA[@]}" 2>&1 | tee "$OUT/eager.log"
    STATUS+=("eager rc=${PIPESTATUS[0]}")

    # 4. Compiled subset, regional compile, the rest of the time.
    COMP=$(( $(left) - 30 ))
    echo "== compiled benchmark (per-layer compile), budget ${COMP} s"
    if [ "$COMP" -gt 60 ]; then
        timeout -s INT -k 20 $((COMP + 20)) "${BENCH[@]}" --compile \
            --compile-scope layer --guard all --seq-lens 1000,4000 \
            --encoders sb-RoPEMHA,SummaryMixing,SummaryMixing-fast,FlashMHA \
            --max-seconds "$COMP" --json "$OUT/compile.json" "${EXTRA[@]}" \
            2>&1 | tee "$OUT/compile.log"
        STATUS+=("compile rc=${PIPESTATUS[0]}")
    else
        STATUS+=("compile skipped: no time left")
    fi
elif [ "$MODE" = "compile" ]; then
    COMP=$(( $(left) - 30 ))
    echo "== compiled benchmark (whole encoder), budget ${COMP} s"
    timeout -s INT -k 20 $((COMP + 20)) "${BENCH[@]}" --compile \
        --compile-scope encoder --guard all --seq-lens 1000,4000 \
        --encoders sb-RoPEMHA,SummaryMixing \
        --max-seconds "$COMP" --json "$OUT/compile.json" "${EXTRA[@]}" \
        2>&1 | tee "$OUT/compile.log"
    STATUS+=("compile rc=${PIPESTATUS[0]}")
elif [ "$MODE" = "step" ]; then
    # Optional stage: one full optimizer step of SpeechBrain's stock
    # wav2vec2-base and of our three recipe YAMLs (FACTS section 7 anchor:
    # ~0.15-0.18 s per 200 s step for SpeechBrain's; ~16 steps and a
    # FLOP-counting step per cell, 12 cells: about 2-4 min eager).
    STEP=("$PY" benchmarks/pretrain_step_bench.py)
    EAGER=$(( $(left) - 240 < 270 ? $(left) - 240 : 270 ))
    echo "== full-step benchmark, eager, budget ${EAGER} s"
    timeout -s INT -k 20 $((EAGER + 45)) "${STEP[@]}" --max-seconds "$EAGER" \
        --json "$OUT/step_eager.json" "${STEP_EXTRA[@]}" 2>&1 \
        | tee "$OUT/step_eager.log"
    STATUS+=("step eager rc=${PIPESTATUS[0]}")
    COMP=$(( $(left) - 30 ))
    echo "== full-step benchmark, per-layer compile, budget ${COMP} s"
    if [ "$COMP" -gt 60 ]; then
        timeout -s INT -k 20 $((COMP + 20)) "${STEP[@]}" --compile \
            --models sb-wav2vec2-base,summarymixing_w2v2 \
            --max-seconds "$COMP" --json "$OUT/step_compile.json" \
            "${STEP_EXTRA[@]}" 2>&1 | tee "$OUT/step_compile.log"
        STATUS+=("step compile rc=${PIPESTATUS[0]}")
    else
        STATUS+=("step compile skipped: no time left")
    fi
else
    echo "unknown mode '$MODE' (default | compile | step)" >&2
    exit 2
fi

# The tool returns the end of the output: finish with the tables.
for md in "$OUT/eager.md" "$OUT/compile.md"; do
    [ -f "$md" ] && sed -n '/^### T/,$p' "$md"
done
for md in "$OUT/step_eager.md" "$OUT/step_compile.md"; do
    [ "$MODE" = "step" ] && [ -f "$md" ] && sed -n '/^### L/,$p' "$md"
done
printf '%s\n' "${STATUS[@]}"
echo "total ${SECONDS} s"
