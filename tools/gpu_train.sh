#!/usr/bin/env bash
# One lent-GPU call: fine-tune the shipped network (GAN stage) for MINUTES, then score the
# shipped and the new weights on the held-out training photos on the same device.
#
# Needs only python3 with torch, numpy, opencv-python-headless and tqdm (no Qt): the device
# machine's image has them. Results land in $OUT (the device tool's folder), else out/gpu:
# train.txt, log.csv, loss.png, weights.pt (fp16, ~7 MB), holdout_shipped.txt, holdout_new.md
# and its grid PNG (7 files; the device tool returns at most 8).
#
# On the device (carry data/trainA and data/holdout, made as in resources/models/README.md):
#     bash tools/gpu_train.sh                          # timeout_s 600 leaves ~2 min spare
# Rehearsal on the CPU here (minutes of training, 2 held-out photos):
#     PYTHON=.venv/bin/python DEVICE=cpu MINUTES=0.3 BATCH=2 LIMIT=2 bash tools/gpu_train.sh
# Then evaluate weights.pt on val here (resources/models/README.md, "Evaluation") and ship it
# only if it beats the shipped file there.
set -euo pipefail

MINUTES=${MINUTES:-6}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-16}
GAN_START=${GAN_START:-500}
LIMIT=${LIMIT:-}
PY=${PYTHON:-python3}
DEST=${OUT:-out/gpu}
RUN=${RUN:-runs/gpu}

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export TQDM_MININTERVAL=${TQDM_MININTERVAL:-30}   # a progress line every 30 s, not a flood
mkdir -p "$DEST" "$RUN/resources/models"
for d in data/trainA data/holdout; do
    [ -d "$d" ] || { echo "missing $d: carry it (see resources/models/README.md)" >&2; exit 2; }
done

"$PY" - <<'EOF'
import torch
cuda = torch.cuda.is_available()
print("torch", torch.__version__, "cuda", cuda, torch.cuda.get_device_name(0) if cuda else "")
EOF

start=(--init resources/models/inpaint_ffc.pt)
[ -f "$RUN/checkpoint.pt" ] && start=(--resume)
"$PY" -m inpaint_studio train --data data/trainA --out "$RUN" --device "$DEVICE" \
    --batch "$BATCH" --minutes "$MINUTES" --gan-start "$GAN_START" "${start[@]}" \
    2>&1 | tee "$DEST/train.txt"
cp "$RUN/log.csv" "$RUN/loss.png" "$RUN/weights.pt" "$DEST/"
cp "$RUN/weights.pt" "$RUN/resources/models/inpaint_ffc.pt"

evaluate=(-m inpaint_studio evaluate --data data/holdout --models ours
          --masks scratch,thin,medium,thick --seed 0 --device "$DEVICE" ${LIMIT:+--limit "$LIMIT"})
"$PY" "${evaluate[@]}" 2>&1 | tee "$DEST/holdout_shipped.txt"
INPAINT_STUDIO_RESOURCES="$RUN/resources" "$PY" "${evaluate[@]}" --out "$DEST/holdout_new.md"
