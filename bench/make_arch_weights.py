#!/usr/bin/env python3
"""Writes the full-size random weights that `npm run bench -- --only arch` times, one
safetensors file per entry of bench/arch-models.json, to <cache>/bench/NAME.safetensors
(<cache> as Upscale's: $UPSCALE_CACHE_DIR, else $XDG_CACHE_HOME/upscale, else ~/.cache/upscale).

Each model is spandrel 0.4.2's class at the entry's configuration, with the golden fixtures'
trained-like random weights (perturb from ../shared/fixtures/spandrel/make_fixtures.py, which
this imports; SPANDREL_FIXTURES points elsewhere). Timing does not depend on the values, only
on the shapes, but random values at trained magnitudes keep activations away from the
subnormal range. Existing files are kept unless --force.

    /work/venv/bin/python bench/make_arch_weights.py [--force] [NAME ...]
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import zlib
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.environ.get("SPANDREL_FIXTURES", os.path.join(REPO, "..", "shared", "fixtures", "spandrel")))

import make_fixtures as mf  # noqa: E402  (first: it supplies a safetensors reader when the package is missing)
import torch  # noqa: E402


def cache_root() -> str:
    if os.environ.get("UPSCALE_CACHE_DIR"):
        return os.path.abspath(os.environ["UPSCALE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(os.path.abspath(base), "upscale")


def main(argv: list[str]) -> None:
    force = "--force" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    with open(os.path.join(HERE, "arch-models.json")) as f:
        entries = json.load(f)["models"]
    out_dir = os.path.join(cache_root(), "bench")
    os.makedirs(out_dir, exist_ok=True)
    for e in entries:
        if wanted and e["name"] not in wanted:
            continue
        path = os.path.join(out_dir, f"{e['name']}.safetensors")
        if os.path.exists(path) and not force:
            print(f"kept {path}")
            continue
        module, cls = e["spandrel"].split(".")
        model_class = getattr(importlib.import_module(f"spandrel.architectures.{module}"), cls)
        seed = 1000 + zlib.crc32(e["name"].encode()) % 90000
        torch.manual_seed(seed)
        model = model_class(**e["kwargs"])
        mf.perturb(model, 100000 + seed, e.get("gains", {}))
        sd = OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())
        mf.write_safetensors(sd, path + ".part")
        os.replace(path + ".part", path)
        params = sum(v.numel() for v in sd.values())
        print(f"wrote {path} ({params / 1e6:.2f} M values)")


if __name__ == "__main__":
    main(sys.argv[1:])
