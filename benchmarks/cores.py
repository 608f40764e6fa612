"""Benchmark: what two processes get from this machine's cores, for the kinds of work a run does.

    .venv/bin/python benchmarks/cores.py [--seconds 3] [--processes 1 2]

The speed-up of a stage on 2 workers against 1 (``benchmarks/scale.py``) is bounded by what the
machine gives two busy processes, which on a virtual machine is not always 2. This measures it
for four kinds of work, each the same fixed job per process, run by 1 and then 2 processes at once
(``multiprocessing``, spawn):

* ``arithmetic``: a loop on a few small numbers, in the core's registers and L1 cache (the
  pure-CPU ceiling);
* ``objects``: walking 200,000 records held as Python dicts, scattered in memory (the models'
  per-season Python code: interpreted, with a working set far beyond the core's own caches);
* ``deflate``: zlib decompression of 4 MiB buffers (what decoding a COG's blocks is);
* ``memory``: copying a 256 MiB array (the memory bandwidth: assembling and writing arrays);
* ``page cache``: reading a 256 MiB file already in the page cache (the kernel's copy: reading
  the COGs' bytes).

Prints, per kind, each process's rate alone and with two at once, and the ratio of two processes'
total rate to one's (2.00x: the cores are independent for this work).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

MIB = 1024 * 1024


def _arithmetic(seconds: float, _path: str) -> float:
    """Loops of integer arithmetic per second."""
    n, x, t0 = 0, 1, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for i in range(100_000):
            x = (x * 1_103_515_245 + i) & 0x7FFFFFFF
        n += 1
    return n / (time.perf_counter() - t0)


def _deflate(seconds: float, _path: str) -> float:
    """MiB decompressed per second."""
    rng = np.random.default_rng(0)
    # image-like data: a smooth field plus noise, 16-bit, as Sentinel-2 reflectances
    field = (np.cumsum(rng.integers(-3, 4, size=2 * MIB), dtype=np.int64) % 4000).astype(np.uint16)
    blob = zlib.compress(field.tobytes(), 6)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        zlib.decompress(blob)
        n += 1
    return n * field.nbytes / MIB / (time.perf_counter() - t0)


def _objects(seconds: float, _path: str) -> float:
    """Passes per second over 200,000 records held as Python dicts (some 50 MiB of objects, far
    beyond a core's L2 cache), each looked up, compared and summed: what the models' per-season
    Python code does with the activity records."""
    recs = [
        {"plot_id": f"P{i // 25:06d}", "activity": ("sowing", "harvest", "residue")[i % 3], "yield": i * 0.5}
        for i in range(200_000)
    ]
    order = np.random.default_rng(0).permutation(len(recs)).tolist()  # the records scattered in memory
    recs = [recs[i] for i in order]
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        by_plot: dict[str, float] = {}
        for r in recs:
            if r["activity"] == "harvest":
                by_plot[r["plot_id"]] = by_plot.get(r["plot_id"], 0.0) + r["yield"]
        n += 1
    return n / (time.perf_counter() - t0)


def _memory(seconds: float, _path: str) -> float:
    """MiB copied per second."""
    src = np.ones(256 * MIB // 8)
    dst = np.empty_like(src)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        np.copyto(dst, src)
        n += 1
    return n * src.nbytes / MIB / (time.perf_counter() - t0)


def _page_cache(seconds: float, path: str) -> float:
    """MiB read per second from a file in the page cache."""
    buf = bytearray(4 * MIB)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        with open(path, "rb", buffering=0) as fh:
            while k := fh.readinto(buf):
                n += k
    return n / MIB / (time.perf_counter() - t0)


KINDS = {
    "arithmetic": (_arithmetic, "loops/s"),
    "objects": (_objects, "passes/s"),
    "deflate": (_deflate, "MiB/s"),
    "memory": (_memory, "MiB/s"),
    "page cache": (_page_cache, "MiB/s"),
}


def _rates(kind: str, processes: int, seconds: float, path: str) -> list[float]:
    fn = KINDS[kind][0]
    with mp.get_context("spawn").Pool(processes) as pool:
        return pool.starmap(fn, [(seconds, path)] * processes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each measurement [s]")
    ap.add_argument("--processes", type=int, nargs=2, default=[1, 2], metavar=("ONE", "MANY"))
    args = ap.parse_args()
    one, many = args.processes
    print(
        f"{os.cpu_count()} cores; each job runs {args.seconds:.0f} s, by {one} and then {many} processes at once"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cached.bin"
        path.write_bytes(os.urandom(256 * MIB))
        path.read_bytes()  # in the page cache
        for kind, (_fn, unit) in KINDS.items():
            alone = _rates(kind, one, args.seconds, str(path))
            together = _rates(kind, many, args.seconds, str(path))
            ratio = sum(together) / sum(alone)
            print(
                f"{kind:>10}: {sum(alone) / one:10.1f} {unit} per process alone, "
                f"{sum(together) / many:10.1f} with {many} at once: {many} vs {one}: {ratio:.2f}x"
            )


if __name__ == "__main__":
    main()
