#!/usr/bin/env bash
# kdlab's GPU check: does the full-size setting train on this machine, and how fast?
#
#   scripts/gpu_check.sh            (or: make gpu-check)
#
# 1. `kdlab bench train --device cuda`: one ResNet-152 teacher step and one ResNet-18 <- ResNet-152
#    distillation step at 224 px, batch 32, bf16 + channels-last (configs/ucf101's settings):
#    clips/s of data loading, forward/backward and the whole step.
# 2. a one-epoch teacher and student on a tiny synthetic set on the GPU with those settings
#    (bf16 autocast, channels-last, pinned memory), then the same with fp16 + grad scaler and torch.compile.
# 3. a 2-process torchrun smoke run (teacher, then a distilled student): one process per GPU with NCCL
#    where there are 2 GPUs or more, else 2 CPU processes with gloo (one GPU cannot host 2 NCCL ranks).
#
# Needs only kdlab installed (`pip install -e .`) and a GPU; no internet. Nothing is written outside a
# temporary folder. PYTHON selects the interpreter (default: python3). Prints PASS/FAIL per step and
# exits 0 when all pass. Each step has a time limit, and the whole check stops within 5 minutes.
set -u
PYTHON=${PYTHON:-python3}
DEVICE=${KDLAB_GPU_CHECK_DEVICE:-cuda}  # "cpu": a dry run of this script's steps at test size, without a GPU
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/kdlab-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PYTHONUNBUFFERED=1 CI=1  # CI: no progress bars
names=() states=() times=()
deadline=$((SECONDS + ${KDLAB_GPU_CHECK_SECONDS:-285}))  # the whole check stays under 5 minutes

# step NAME TIMEOUT_S COMMAND...: run it (within the time left), log to $work/NAME.log, record PASS/FAIL
step() {
    local name=$1 limit=$2; shift 2
    local start=$SECONDS left=$((deadline - SECONDS))
    [ "$left" -lt "$limit" ] && limit=$left
    echo "== $name"
    if [ "$limit" -le 0 ]; then
        names+=("$name"); states+=("FAIL (no time left)"); times+=(0); return 0
    fi
    if timeout "$limit" "$@" >"$work/$name.log" 2>&1; then
        states+=(PASS)
    else
        local rc=$?
        states+=("FAIL (exit $rc$([ $rc = 124 ] && echo ", over ${limit} s"))")
        tail -n 15 "$work/$name.log" | sed 's/^/   | /'
    fi
    names+=("$name"); times+=($((SECONDS - start)))
    case $name in
        environment|bench) sed 's/^/   /' "$work/$name.log" ;;
        *) grep -h 'epoch(s)' "$work/$name.log" | sed 's/^/   /' ;;
    esac
    return 0
}

# a finished run: summary.json complete, every loss in metrics.csv finite
finished() {
    "$PYTHON" - "$@" <<'EOF'
import csv, json, math, sys
for run in sys.argv[1:]:
    summary = json.load(open(f"{run}/summary.json"))
    assert summary["complete"], f"{run}: not complete"
    rows = list(csv.DictReader(open(f"{run}/metrics.csv")))
    losses = [float(v) for row in rows for k, v in row.items() if k.startswith("loss")]
    assert rows and losses and all(math.isfinite(x) for x in losses), f"{run}: losses {losses}"
    print(f"{run}: {len(rows)} epoch(s), losses {[round(x, 4) for x in losses]}, test top-1 {summary['test']['top1']:.1f}%")
EOF
}

kd() { "$PYTHON" -m kdlab "$@"; }

step environment 45 "$PYTHON" -c "
import torch, kdlab
if '$DEVICE' == 'cuda':
    assert torch.cuda.is_available(), 'torch sees no GPU (torch.cuda.is_available() is False)'
    print(f'{torch.cuda.device_count()} GPU(s): {torch.cuda.get_device_name(0)}, bf16: {torch.cuda.is_bf16_supported()}')
print(f'kdlab {kdlab.__version__}, torch {torch.__version__}, CUDA {torch.version.cuda}')"
gpus=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)

if [ "$DEVICE" = cuda ]; then size=(); else size=(--small); fi
step bench 120 "$PYTHON" -m kdlab bench train --device "$DEVICE" "${size[@]}"

step synthetic 30 "$PYTHON" -m kdlab synth --preset tiny --out "$work/data" --workers 4 --quiet
tiny=(data.root="$work/data" optim.epochs=1 quiet=true)
gpu=(device="$DEVICE" optim.amp=bf16 model.channels_last=true data.pin_memory=true)
step train-bf16 60 bash -c "$(declare -f kd finished); PYTHON='$PYTHON'
    kd train configs/demo/teacher_iframe.toml ${tiny[*]} ${gpu[*]} out=$work/runs/teacher &&
    kd distill configs/demo/kd_single.toml ${tiny[*]} ${gpu[*]} 'distill.teachers=[\"$work/runs/teacher\"]' \
        out=$work/runs/student && finished $work/runs/teacher $work/runs/student"
step train-fp16-compile 90 bash -c "$(declare -f kd finished); PYTHON='$PYTHON'
    kd train configs/demo/student_ce.toml ${tiny[*]} ${gpu[*]} optim.amp=fp16 model.compile=true \
        out=$work/runs/compiled && finished $work/runs/compiled"

if [ "$DEVICE" = cuda ] && [ "$gpus" -ge 2 ]; then ddp=(device=cuda); else ddp=(device=cpu); fi
echo "torchrun: 2 processes on ${ddp[*]#device=} ($gpus GPU(s) here)"
step torchrun-2proc 90 bash -c "$(declare -f finished); PYTHON='$PYTHON'
    $PYTHON -m torch.distributed.run --standalone --nproc_per_node=2 -m kdlab train configs/demo/teacher_iframe.toml \
        ${tiny[*]} ${ddp[*]} out=$work/runs/ddp_teacher &&
    $PYTHON -m torch.distributed.run --standalone --nproc_per_node=2 -m kdlab distill configs/demo/kd_single.toml \
        ${tiny[*]} ${ddp[*]} 'distill.teachers=[\"$work/runs/ddp_teacher\"]' out=$work/runs/ddp_student &&
    finished $work/runs/ddp_teacher $work/runs/ddp_student"

echo
echo "kdlab GPU check summary"
failed=0
for i in "${!names[@]}"; do
    printf '  %-20s %-24s %4d s\n' "${names[$i]}" "${states[$i]}" "${times[$i]}"
    [ "${states[$i]}" = PASS ] || failed=1
done
if [ $failed = 0 ]; then echo "PASS (${SECONDS} s)"; else echo "FAIL (${SECONDS} s; logs above)"; fi
exit $failed
