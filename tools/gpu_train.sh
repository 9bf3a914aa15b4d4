#!/usr/bin/env bash
# One lent-GPU call: fine-tune the shipped network in several variants side by side, each
# its own process on the one GPU, for MINUTES of training each.
#
#     bash tools/gpu_train.sh "NAME=EXTRA TRAIN ARGS" ["NAME=EXTRA TRAIN ARGS" ...]
#
# Every variant runs `inpaint-studio train --data data/trainA --init <shipped weights>
# --stage net` (the coarse corrector stays frozen) with --device, --batch, --minutes, --lr,
# --gan-start and --loader-workers from the variables below, plus its own EXTRA ARGS.
# A variant whose run folder holds a checkpoint continues it (--resume).
#
# Needs only python3 with torch, numpy, opencv-python-headless and tqdm (no Qt): the device
# machine's image has them. Every CHECK_S seconds, and at the end, each variant's weights
# (fp16, ~7 MB) are copied to $OUT/NAME.pt (the device tool's folder; else out/gpu) and its
# train.txt, log.csv and loss.png into $OUT/logs.tar.gz, so a call cut short still returns
# what was trained; $OUT/speed.md holds benchmarks/bench_model_speed.py's table, run first.
# At most 6 variants (the device tool returns 8 files).
#
# Throughput (2026-12-04, H200, 16 cores): the GPU, not the loader, sets the pace, at about
# 700-750 crops of 256 px a second for all variants together (4 variants of batch 64 got
# about 175 each; benchmarks/bench_train_step.py: 747 crops/s for one generator step of
# batch 256). So N variants each see 1/N of the crops. Each variant runs MINUTES of steps
# after a start-up of 30-70 s: give the call a timeout_s of at least MINUTES * 60 + 120.
#
# On the device (carry data/trainA, made as in resources/models/README.md):
#     bash tools/gpu_train.sh "recon=--hole-loss mse --adv-weight 0" "gan=--adv-weight 0.1"
# Rehearsal on the CPU here:
#     PYTHON=.venv/bin/python DEVICE=cpu MINUTES=0.2 BATCH=2 WORKERS=1 \
#         bash tools/gpu_train.sh "a=--adv-weight 0" "b=--adv-weight 0.1"
# Then score NAME.pt on data/holdout and val here (resources/models/README.md) and ship it
# only if it beats the shipped file there.
set -euo pipefail

MINUTES=${MINUTES:-7}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-128}
LR=${LR:-3e-4}
GAN_START=${GAN_START:-200}
WORKERS=${WORKERS:-}           # loader processes per variant (default: 14 shared out)
CHECK_S=${CHECK_S:-60}
PY=${PYTHON:-python3}
DEST=${OUT:-out/gpu}
RUNS=${RUNS:-runs/gpu}
INIT=${INIT:-resources/models/inpaint_ffc.pt}

[ $# -ge 1 ] && [ $# -le 6 ] || { echo "give 1-6 variants NAME=ARGS" >&2; exit 2; }
[ -d data/trainA ] || { echo "missing data/trainA: carry it" >&2; exit 2; }
WORKERS=${WORKERS:-$(( 14 / $# > 2 ? 14 / $# : 2 ))}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export TQDM_MININTERVAL=${TQDM_MININTERVAL:-30}   # a progress line every 30 s, not a flood
mkdir -p "$DEST" "$RUNS"

"$PY" - <<'EOF'
import torch
cuda = torch.cuda.is_available()
print("torch", torch.__version__, "cuda", cuda, torch.cuda.get_device_name(0) if cuda else "")
EOF

# The model card's speed table wants the GPU's figure too: 512x512 fills, first (under a
# minute; SPEED=0 skips it), so that a call cut short still returns it as $OUT/speed.md.
if [ "${SPEED:-1}" = 1 ]; then
    timeout 120 "$PY" benchmarks/bench_model_speed.py --repeats 10 --devices cuda \
        >"$DEST/speed.md" 2>&1 || true
    cat "$DEST/speed.md"
fi

names=()
pids=()
# hard stop: the time budget plus start-up; SIGINT makes train save its checkpoint first
hard_s=${HARD_S:-$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 + 60 }')}
for spec in "$@"; do
    name=${spec%%=*}
    extra=${spec#*=}
    run="$RUNS/$name"
    mkdir -p "$run"
    start=(--init "$INIT")
    [ -f "$run/checkpoint.pt" ] && start=(--resume)
    # shellcheck disable=SC2086  # extra is a list of words on purpose
    timeout -s INT -k 30 "$hard_s" "$PY" -m inpaint_studio train --data data/trainA \
        --out "$run" --device "$DEVICE" --batch "$BATCH" --minutes "$MINUTES" --lr "$LR" \
        --gan-start "$GAN_START" --loader-workers "$WORKERS" --threads 2 --stage net \
        --checkpoint-minutes 1 "${start[@]}" $extra >"$run/train.txt" 2>&1 &
    pids+=($!)
    names+=("$name")
    echo "started $name: $extra"
done

save_results() {
    for name in "${names[@]}"; do
        w="$RUNS/$name/weights.pt"
        [ -f "$w" ] && cp "$w" "$DEST/.$name.tmp" && mv "$DEST/.$name.tmp" "$DEST/$name.pt"
    done
    local logs=()
    for n in "${names[@]}"; do for f in train.txt log.csv loss.png; do
        [ -f "$RUNS/$n/$f" ] && logs+=("$n/$f"); done; done
    tar -czf "$DEST/.logs.tmp" -C "$RUNS" "${logs[@]}" && mv "$DEST/.logs.tmp" "$DEST/logs.tar.gz"
    return 0
}

last=$SECONDS
while :; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 5 & wait $! || true   # poll often: the results are saved as soon as all end
    if (( SECONDS - last >= CHECK_S )); then
        last=$SECONDS
        save_results
        for name in "${names[@]}"; do
            echo "$name: $(tail -c 300 "$RUNS/$name/train.txt" | tr '\r' '\n' | tail -n 1)"
        done
    fi
done
status=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { echo "${names[$i]} exited with $?"; status=1; }
done
save_results
for name in "${names[@]}"; do
    echo "== $name"
    tail -c 600 "$RUNS/$name/train.txt" | tr '\r' '\n' | tail -n 3
done
ls -la "$DEST"
exit $status
