#!/usr/bin/env bash
# Runs on the lent GPU machine, from the repo root (scripts/gpu-proof/prepare.sh made the parts):
#   part 1:  bash scripts/gpu-proof/run.sh               carrying .gpu
#   part 2:  PART=x4plus bash scripts/gpu-proof/run.sh   carrying .gpu-x4plus, right after part 1
#            (it reuses the runtime part 1 unpacked in $W on the same, still warm, machine)
# The bench's speed section there: realesr-general-x4v3 (part 1) and realesrgan-x4plus (part 2)
# at each of $SIZES (default 512 1024), on the CPU, on WebGPU in fp32 and in fp16, each image
# run twice in one daemon (cold, then warm); a SwinIR at the smallest size; `auto`'s choice;
# `--provider cuda`; 8-bit PSNR of WebGPU against the CPU and of fp16 against fp32. Results in
# $OUT: summary-PART.txt, results.jsonl, one log per run.
# Simulated on a CPU machine (lavapipe as the only Vulkan driver, no Node on PATH):
#   eval "$(bash scripts/lavapipe.sh)"; PATH=/usr/bin:/bin SIZES=64 OUT=/tmp/gpu-out bash scripts/gpu-proof/run.sh
set -uo pipefail
PART=${PART:-1}
G=$(pwd)/.gpu
OUT=${OUT:-/tmp/upscale-gpu-out}
W=${W:-/tmp/upscale-gpu}
read -r -a SIZES <<< "${SIZES:-512 1024}"
SMALL=${SIZES[0]}
mkdir -p "$OUT"
S=$OUT/summary-$PART.txt; : > "$S"
say() { echo "$*" | tee -a "$S"; }
t0=$(date +%s.%N)
elapsed() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $1}"; }
PY=/opt/torch/.venv/bin/python3; [ -x "$PY" ] || PY=python3
N=$W/node

if [ "$PART" = 1 ]; then
  say "== machine"; { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>&1 || echo "no nvidia-smi"; } | tee -a "$S"
  [ -f "$G/node.xz" ] || { say "no .gpu/node.xz: carry .gpu (made by scripts/gpu-proof/prepare.sh)"; exit 2; }
  rm -rf "$W"; mkdir -p "$W/umodels" "$W/xdg" "$W/cache"; chmod 700 "$W/xdg"
  # Python's lzma and tarfile: the machine may have no xz.
  "$PY" - "$G" "$W" <<'EOF' || { say "unpack failed"; exit 2; }
import lzma, os, shutil, sys, tarfile
g, w = sys.argv[1], sys.argv[2]
with lzma.open(f"{g}/node.xz") as s, open(f"{w}/node", "wb") as d: shutil.copyfileobj(s, d)
os.chmod(f"{w}/node", 0o755)
with tarfile.open(f"{g}/app.tar.xz") as t:
    t.extractall(w, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
EOF
  LDC=$(command -v ldconfig || echo /sbin/ldconfig)
  if ! "$LDC" -p | grep -q 'libvulkan.so.1 ' && ! ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /lib/x86_64-linux-gnu/libvulkan.so.1 >/dev/null 2>&1 \
     && [ -z "${LD_LIBRARY_PATH:-}" ]; then
    say "no libvulkan.so.1: unpacking the carried loaders"; for f in "$G"/*.deb; do dpkg -x "$f" /; done; "$LDC"
  fi
elif [ "$PART" = x4plus ]; then
  [ -x "$N" ] || { say "no runtime in $W: run part 1 first, on the same machine"; exit 2; }
  [ -f .gpu-x4plus/realesrgan-x4plus.bin.xz ] || { say "no .gpu-x4plus: carry it"; exit 2; }
  mkdir -p "$W/x4plus"; cp .gpu-x4plus/realesrgan-x4plus.param "$W/x4plus/"
  "$PY" -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
    .gpu-x4plus/realesrgan-x4plus.bin.xz "$W/x4plus/realesrgan-x4plus.bin" || { say "unpack failed"; exit 2; }
else
  say "PART is 1 or x4plus, not $PART"; exit 2
fi
say "node $("$N" --version) ready in $(elapsed "$t0") s"

ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$ICD" ]; then export VK_DRIVER_FILES=$ICD; fi
say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<unset>}"
export XDG_RUNTIME_DIR=$W/xdg HOME=$W UPSCALE_BUILTIN_DIR=$W/models UPSCALE_MODELS_DIR=$W/umodels UPSCALE_CACHE_DIR=$W/cache
CLI=$W/app/bin/upscale.js

# Inputs: baboon covered to SIZE² (large sizes are an enlarged photo; cost does not depend on content).
for s in "${SIZES[@]}"; do
  "$N" -e "const sharp=require('$W/app/node_modules/sharp');
    sharp('$W/photos/baboon.jpg').resize($s,$s,{fit:'cover',kernel:'lanczos3'}).png().toFile('$W/in-$s.png')
    .then(()=>require('fs').copyFileSync('$W/in-$s.png','$W/in-$s-warm.png'))" || { say "could not make the inputs"; exit 2; }
done

# run TAG MODEL SIZE PROVIDER [PRECISION]: both copies of the input in one daemon (cold, then warm).
run() {
  local tag=$1 model=$2 size=$3 provider=$4 precision=${5:-fp32} a rc
  mkdir -p "$W/out-$tag"; a=$(date +%s.%N)
  UPSCALE_DEBUG=1 timeout 590 "$N" "$CLI" "$W/in-$size.png" "$W/in-$size-warm.png" -o "$W/out-$tag/" -m "$model" \
    --provider "$provider" --precision "$precision" --json --overwrite > "$W/$tag.jsonl" 2> "$OUT/$tag.log"; rc=$?
  say "-- $tag: exit $rc in $(elapsed "$a") s"
  sed "s/^{/{\"tag\":\"$tag\",\"size\":$size,/" "$W/$tag.jsonl" | tee -a "$OUT/results.jsonl" >> "$S"
  [ $rc = 0 ] || grep -E 'upscale: error' "$OUT/$tag.log" | head -3 | tee -a "$S"
}
# psnr A B LABEL: 8-bit PSNR over RGB of two outputs of the same input.
psnr() {
  "$N" -e "const sharp=require('$W/app/node_modules/sharp');
    Promise.all([process.argv[1],process.argv[2]].map(f=>sharp(f).removeAlpha().raw().toBuffer()))
    .then(([a,b])=>{let se=0;for(let i=0;i<a.length;i++){const d=a[i]-b[i];se+=d*d}
      console.log(process.argv[3]+': '+(se?(10*Math.log10(255*255*a.length/se)).toFixed(1):'inf')+' dB')})
    .catch(e=>console.log(process.argv[3]+': '+e.message))" "$1" "$2" "$3" 2>&1 | tee -a "$S"
}
out() { echo "$W/out-$1/in-$2@4x.png"; }

if [ "$PART" = 1 ]; then
  say "== auto (the default provider)"
  run auto realesr-general-x4v3 "$SMALL" auto auto
  grep -h 'providers: ' "$OUT/auto.log" | tee -a "$S"
  say "== --provider cuda"
  run cuda realesr-general-x4v3 "$SMALL" cuda
  M=realesr-general-x4v3
  say "== $M"
  for s in "${SIZES[@]}"; do
    run "cpu-$M-$s" $M "$s" cpu
    run "webgpu-fp32-$M-$s" $M "$s" webgpu fp32
    run "webgpu-fp16-$M-$s" $M "$s" webgpu fp16
    psnr "$(out "webgpu-fp32-$M-$s" "$s")" "$(out "cpu-$M-$s" "$s")" "$M $s² webgpu fp32 vs cpu"
    psnr "$(out "webgpu-fp16-$M-$s" "$s")" "$(out "webgpu-fp32-$M-$s" "$s")" "$M $s² webgpu fp16 vs fp32"
  done
  "$N" "$CLI" models import "$W/models/$(cat "$W/models/transformer").onnx" --json > "$W/import.json" 2> "$OUT/import.log" \
    || say "import of the transformer failed: $(tail -2 "$OUT/import.log")"
  T=$("$N" -e "console.log(JSON.parse(require('fs').readFileSync('$W/import.json','utf8')).id)")
  say "== $T (transformer, imported)"
  run "cpu-$T-$SMALL" "$T" "$SMALL" cpu
  run "webgpu-fp32-$T-$SMALL" "$T" "$SMALL" webgpu fp32
  run "webgpu-fp16-$T-$SMALL" "$T" "$SMALL" webgpu fp16
  psnr "$(out "webgpu-fp32-$T-$SMALL" "$SMALL")" "$(out "cpu-$T-$SMALL" "$SMALL")" "$T $SMALL² webgpu fp32 vs cpu"
  psnr "$(out "webgpu-fp16-$T-$SMALL" "$SMALL")" "$(out "webgpu-fp32-$T-$SMALL" "$SMALL")" "$T $SMALL² webgpu fp16 vs fp32"
  PROOF="webgpu-fp32-$M-$SMALL"
  for d in /opt/torch/.venv/lib/python3*/site-packages/nvidia/cu13/lib /opt/torch/.venv/lib/python3*/site-packages/nvidia/cudnn/lib; do
    say "CUDA libraries in $d: $(ls "$d" 2>/dev/null | grep -E 'libcudart|libcublas|libcudnn.so' | tr '\n' ' ')"; done
else
  M=realesrgan-x4plus
  "$N" "$CLI" models import "$W/x4plus/realesrgan-x4plus.param" --json > "$W/import.json" 2> "$OUT/import.log" \
    || { say "import failed: $(tail -2 "$OUT/import.log")"; exit 1; }
  M=$("$N" -e "console.log(JSON.parse(require('fs').readFileSync('$W/import.json','utf8')).id)")
  say "== $M (imported from ncnn as '$M')"
  run "cpu-$M-$SMALL" "$M" "$SMALL" cpu
  for s in "${SIZES[@]}"; do
    run "webgpu-fp32-$M-$s" "$M" "$s" webgpu fp32
    run "webgpu-fp16-$M-$s" "$M" "$s" webgpu fp16
    psnr "$(out "webgpu-fp16-$M-$s" "$s")" "$(out "webgpu-fp32-$M-$s" "$s")" "$M $s² webgpu fp16 vs fp32"
  done
  psnr "$(out "webgpu-fp32-$M-$SMALL" "$SMALL")" "$(out "cpu-$M-$SMALL" "$SMALL")" "$M $SMALL² webgpu fp32 vs cpu"
  PROOF="webgpu-fp32-$M-$SMALL"
fi

# The speed table: warm seconds (the second image of each run) and input megapixels per second.
say "== speed (warm = the second image in the same daemon)"
"$N" - "$OUT/results.jsonl" "$PART" <<'EOF' | tee -a "$S"
const lines = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const runs = new Map();
for (const r of lines) if (r.seconds !== undefined) (runs.get(r.tag) ?? runs.set(r.tag, []).get(r.tag)).push(r);
const cpu = (model, size) => runs.get(`cpu-${model}-${size}`)?.[1]?.seconds;
console.log('model                    size  provider precision  cold s   warm s  Mpx/s  vs cpu');
for (const [tag, [cold, warm]] of runs) {
  if (!warm || tag === 'auto' || tag === 'cuda') continue;
  const base = cpu(warm.model, warm.size);
  const speedup = base && warm.provider !== 'cpu' ? `${(base / warm.seconds).toFixed(1)}x` : '';
  console.log(`${warm.model.padEnd(24)} ${String(warm.size).padStart(5)}  ${warm.provider.padEnd(8)} ${(warm.precision ?? '').padEnd(9)} ${cold.seconds.toFixed(2).padStart(6)} ${warm.seconds.toFixed(2).padStart(8)} ${((warm.size * warm.size) / 1e6 / warm.seconds).toPrecision(3).padStart(6)}  ${speedup}`);
}
EOF
say "total $(elapsed "$t0") s"
grep -q '"provider":"webgpu"' "$W/$PROOF.jsonl" 2>/dev/null && { say "PROOF: webgpu ran ($PROOF)"; exit 0; }
say "webgpu did not run (see $PROOF.log)"; exit 1
