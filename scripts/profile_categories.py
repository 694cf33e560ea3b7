#!/usr/bin/python3
"""Sort a LibTorch profile (chrome trace JSON of RecordProfile) of the image encoder into the
categories of its time budget, by the self time of each operation.

Usage: profile_categories.py PROFILE.json
Categories: matrix products (GEMM), attention softmax, relative positions (everything inside
samri::rel_pos_logits), layer norms, GELU, layout copies, and the rest (additions, padding...).
"""
import collections
import json
import sys

GEMM = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::baddbmm_",
        "aten::mkldnn_convolution", "aten::_convolution", "aten::convolution",
        "aten::_mkldnn_reshape", "aten::mkldnn_linear"}
CATEGORIES = [
    ("relative positions", lambda name, scopes: "samri::rel_pos_logits" in scopes),
    ("matrix products (GEMM)", lambda name, scopes: name in GEMM or "conv" in name),
    ("attention softmax", lambda name, scopes: "softmax" in name),
    ("layer norms", lambda name, scopes: "layer_norm" in name),
    ("GELU", lambda name, scopes: "gelu" in name),
    ("layout copies", lambda name, scopes: name in {"aten::copy_", "aten::clone",
                                                    "aten::contiguous", "aten::cat",
                                                    "aten::constant_pad_nd", "aten::_to_copy"}),
]


def self_times(events):
    """(name, enclosing scope names, self microseconds) of every complete event, per thread."""
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            by_thread[e["tid"]].append(e)
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack, children = [], collections.Counter()
        for i, e in enumerate(evs):
            while stack and evs[stack[-1]]["ts"] + evs[stack[-1]]["dur"] <= e["ts"]:
                stack.pop()
            if stack:
                children[stack[-1]] += e["dur"]
            e["scopes"] = {evs[j]["name"] for j in stack}
            stack.append(i)
        for i, e in enumerate(evs):
            yield e["name"], e["scopes"], e["dur"] - children[i]


def main(path):
    totals = collections.Counter()
    for name, scopes, self_us in self_times(json.load(open(path))):
        category = next((c for c, match in CATEGORIES if match(name, scopes)), "the rest")
        totals[category] += self_us
    whole = sum(totals.values())
    print(f"{path}: {whole / 1e6:.3f} s of operations (profiler on)")
    for category, _ in CATEGORIES + [("the rest", None)]:
        print(f"  {category:24s} {totals[category] / 1e6:7.3f} s  {100 * totals[category] / whole:5.1f}%")


if __name__ == "__main__":
    main(sys.argv[1])
