#!/bin/bash
# The Fourier-features paper's Table 1 protocol (as its authors' code runs it) on both folders, plus the
# zoo's hash grid and SIREN at the same 2000 steps, four processes sharing one GPU (each fit is launch-bound).
# Usage: bash benchmarks/ffn_protocol_gpu.sh [DATA_DIR=../shared/data/images] [OUT=runs/ffn_gpu]
set -u
D=${1:-../shared/data/images}
R=${2:-runs/ffn_gpu}
mkdir -p "$R"
# TF32 matmuls, as JAX uses on recent GPUs
INRKIT='import sys,torch; torch.set_float32_matmul_precision("high"); from inrkit.cli import main; sys.exit(main(sys.argv[1:]))'
run() { name=$1; shift; python3 -c "$INRKIT" "$@" --compile off --out "$R/$name" > "$R/$name.log" 2>&1; echo "$name exit $?"; }
run proto_div2k bench images "$D/div2k" --protocol ffn &
run proto_text bench images "$D/text" --protocol ffn-text &
run zoo_div2k bench images "$D/div2k" --presets ngp siren --steps 2000 --train-stride 2 --size 512x512 --baselines bilinear bicubic &
run zoo_text bench images "$D/text" --presets ngp siren --steps 2000 --train-stride 2 --size 512x512 --baselines bilinear bicubic &
wait
