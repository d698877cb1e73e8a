#!/bin/bash
# The GPU checks of the priors (issues 14 and 15) in one run of about 8 minutes on one CUDA GPU:
#   - the test suite on the GPU (the CUDA tests run instead of skipping);
#   - a super-resolution prior with the EDSR-baseline encoder (64 channels, 16 blocks) trained for --time-budget
#     seconds on div2k + text + the shipped model's scikit-image pictures (evaluated afterwards on any machine
#     with benchmarks/superres_kodak.py --model gpu=OUT/sr64);
#   - functa on emoji64 at 64x64 with 512 latents, trained for a fixed time;
#   - fit-many against a loop of single fits on the GPU.
# Usage: bash benchmarks/gpu_priors.sh DATA OUT
#   DATA holds div2k/ and text/ (images), srdefault/ (runs/sr-default/images), emoji64/ and fashion-mnist/.
set -u
D=${1:?data folder}
R=${2:?output folder}
mkdir -p "$R"
export PYTHONUNBUFFERED=1
# TF32 matmuls for the trainings only: the tests compare CUDA with float32 CPU results
TF32="env TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
start=$(date +%s)

$TF32 python3 -m inrkit.cli sr train "$D/div2k" "$D/text" "$D/srdefault" --channels 64 --blocks 16 --hidden 128 --layers 3 \
    --patch 48 --queries 2304 --batch-size 16 --steps 1000000 --time-budget 330 --val-every 2500 --device cuda \
    --no-progress --out "$R/sr64" > "$R/sr.log" 2>&1 &
sr=$!

OMP_NUM_THREADS=1 timeout 300 python3 -m pytest -v -n 6 -p no:cacheprovider -o addopts="--ignore=tests/data" > "$R/pytest.txt" 2>&1
echo "pytest exit $? after $(( $(date +%s) - start )) s"

$TF32 python3 benchmarks/functa_emoji.py --data "$D/emoji64" --latents 512 --size 64 --width 256 --depth 6 --batch-size 32 \
    --lr 1e-4 --steps 1000000 --time-budget 120 --device cuda --out "$R/functa.json" > "$R/functa.log" 2>&1
echo "functa exit $? after $(( $(date +%s) - start )) s"

wait $sr
echo "sr train exit $? after $(( $(date +%s) - start )) s"
rm -f "$R/sr64/sr_state.pt"

python3 benchmarks/fit_many.py --data "$D/fashion-mnist" --count 1024 --loop 16 --device cuda --procs \
    --out "$R/fit_many.json" > "$R/fit_many.log" 2>&1
echo "fit_many exit $? after $(( $(date +%s) - start )) s"
tail -n 3 "$R"/*.log "$R/pytest.txt"
