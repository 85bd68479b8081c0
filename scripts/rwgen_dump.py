#!/usr/bin/env python3
"""Dump the lab generator's data (rwgen.py's series model) to a file that
`benches/storage_footprint.rs` reads with SAMPLES_FILE=..., so the block
footprint can be measured on exactly the values the lab sends to its peers.

Usage: scripts/rwgen_dump.py OUT [--rwgen PATH/rwgen.py]
                             [--series 20000] [--samples 240] [--seed 42]

Only rwgen's model classes are used (build_units, Unit.step); its protobuf
and snappy imports are stubbed out, so nothing needs installing.

File layout (little endian):
  "ALSD" magic, u32 series, u32 samples per series
  per series: u16 label count, then (u16 len, name bytes, u16 len, value bytes)
  per scrape k, per series in order: i64 timestamp ms, u64 value bits
"""
import argparse
import importlib.util
import os
import struct
import sys
import types


def load_rwgen(path):
    # rwgen imports prompb (protobuf) and cramjam/snappy at module level;
    # neither is used by the model, so stand-ins are enough.
    sys.modules.setdefault("prompb", types.ModuleType("prompb"))
    if "cramjam" not in sys.modules:
        cj = types.ModuleType("cramjam")
        cj.snappy = types.SimpleNamespace(compress_raw=lambda b: b)
        sys.modules["cramjam"] = cj
    spec = importlib.util.spec_from_file_location("rwgen", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rwgen", default=os.path.join(here, "..", "..", "shared", "lab", "rwgen.py"),
                    help="path of rwgen.py (default: ../shared/lab/rwgen.py beside the repository)")
    ap.add_argument("--series", type=int, default=20000)
    ap.add_argument("--samples", type=int, default=240)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--interval-ms", type=int, default=15000)
    ap.add_argument("--start-ms", type=int, default=1_700_000_000_000)
    ap.add_argument("--reset-prob", type=float, default=0.002)
    a = ap.parse_args()
    rw = load_rwgen(a.rwgen)
    units = rw.build_units(a.seed, a.series, a.interval_ms, a.reset_prob)
    with open(a.out, "wb") as f:
        f.write(b"ALSD" + struct.pack("<II", a.series, a.samples))
        for u in units:
            for p in u.keep:
                labels = u.series[p]
                f.write(struct.pack("<H", len(labels)))
                for name, value in labels:
                    for s in (name.encode(), value.encode()):
                        f.write(struct.pack("<H", len(s)) + s)
        scratch = {id(u): [0.0] * len(u.series) for u in units}
        rec = struct.Struct("<qd")
        for k in range(a.samples):
            base = a.start_ms + k * a.interval_ms
            buf = bytearray()
            for u in units:
                out = scratch[id(u)]
                u.step(k, out)
                t = base + u.offset_ms
                for p in u.keep:
                    buf += rec.pack(t, float(out[p]))
            f.write(buf)
    print("wrote %s: %d series x %d samples" % (a.out, a.series, a.samples))


if __name__ == "__main__":
    main()
