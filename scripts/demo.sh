#!/bin/sh
# The demo, from a fresh clone: installs what is missing, builds, trains the
# 3D-DCGAN on the built-in bouncing-shapes clips (32x32, 16 frames) for a
# fixed budget of steps (about 10 minutes on 2 cores), scores real against
# generated clips with `vidgan eval`, and names the run folder at the end
# (sample GIFs in samples/, the loss log metrics.jsonl, checkpoints).
#   scripts/demo.sh [RUN_FOLDER]      (default runs/demo-shapes32)
set -eu
cd "$(dirname "$0")/.."
out=${1:-runs/demo-shapes32}
steps=${DEMO_STEPS:-3000}

sh scripts/setup.sh
make -j"$(nproc)" all
# The recipe (README "Status of the demo" has the measurements behind it):
# widths 16; MoCoGAN's generator (a content code per clip, a GRU motion
# code per frame, frames made by a 2D resize-convolution generator) over
# VGAN's static background stream; MoCoGAN's image discriminator beside the
# video one; lr 5e-4 for G and 1e-4 for D; an EMA of G over ~100 steps.
build/vidgan train --data shapes --size 32 --frames 16 --batch 16 --g-base 16 --d-base 16 \
    --g-arch resize --two-stream --motion-dim 10 --image-d --lr-g 5e-4 --lr-d 1e-4 --ema 0.99 \
    --steps "$steps" --sample-every 500 --ckpt-every 500 --seed 1 --out "$out" --resume auto
ckpt=$(ls "$out"/ckpt-*.safetensors | sort | tail -n 1)
build/vidgan eval --data shapes --ckpt "$ckpt" --n 256 --json "$out/eval.json" | tee "$out/eval.txt"
build/vidgan sample --ckpt "$ckpt" --n 16 --seed 7 --grid -o "$out/samples/demo.gif"
echo
echo "demo run folder: $out"
echo "  samples/demo.gif   16 generated videos (final weights)"
echo "  samples/           sample grids every 500 steps"
echo "  metrics.jsonl      losses and D outputs per step"
echo "  eval.txt           real vs generated: valid frames, smooth motion"
