#!/usr/bin/python3
"""Plot SAMRI learning curves from one or more run directories' metrics.jsonl.

Reads ``<run>/metrics.jsonl`` (or a .jsonl file given directly) and writes a
PNG with two panels:
  * top:    training loss per optimiser step (``{"kind":"step",...,"loss":L}``),
            raw (faint) and smoothed with a trailing moving average (--smooth K);
  * bottom: validation Dice per set against step
            (``{"kind":"val","step":N,"set":"seen"|"zeroshot"|...,"dice":D}``),
            with optional dashed reference lines (--hline VALUE:LABEL).
Lines of other kinds, unknown keys, blank lines and unparsable lines (e.g. a
partially written last line of a live run) are ignored.

Example
  /usr/bin/python3 scripts/plot_training.py runs/vit_b_box runs/vit_b_box_point \\
      --smooth 50 --title "SAMRI ViT-B" --hline 0.62:"filled box" \\
      --output curves.png --csv val_dice.csv

Dependencies: numpy, matplotlib (Debian: python3-matplotlib).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from typing import Dict, List, Tuple

import numpy as np


def metrics_path(run: str) -> str:
    return run if os.path.isfile(run) else os.path.join(run, "metrics.jsonl")


def run_label(run: str) -> str:
    path = os.path.normpath(run)
    if os.path.isfile(path):
        parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
        return parent or os.path.basename(path)
    return os.path.basename(path) or path


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def read_metrics(path: str) -> Tuple[List[Tuple[float, float]], Dict[str, List[Tuple[float, float]]], int]:
    """Returns (train [(step, loss)], val {set: [(step, dice)]}, skipped_lines)."""
    train: List[Tuple[float, float]] = []
    val: Dict[str, List[Tuple[float, float]]] = {}
    skipped = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            if not isinstance(obj, dict):
                skipped += 1
                continue
            kind = obj.get("kind")
            step = _num(obj.get("step"))
            if step is None:
                continue
            if kind == "step":
                loss = _num(obj.get("loss"))
                if loss is not None:
                    train.append((step, loss))
            elif kind == "val":
                dice = _num(obj.get("dice"))
                if dice is not None:
                    val.setdefault(str(obj.get("set", "val")), []).append((step, dice))
    train.sort(key=lambda t: t[0])
    for pts in val.values():
        pts.sort(key=lambda t: t[0])
    return train, val, skipped


def moving_average(y: np.ndarray, k: int) -> np.ndarray:
    """Trailing mean over the last k values (fewer at the start); NaNs ignored."""
    if k <= 1 or y.size == 0:
        return y.copy()
    finite = np.isfinite(y)
    vals = np.where(finite, y, 0.0)
    cs = np.concatenate([[0.0], np.cumsum(vals)])
    cn = np.concatenate([[0], np.cumsum(finite)])
    idx = np.arange(1, y.size + 1)
    lo = np.maximum(idx - k, 0)
    cnt = cn[idx] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, (cs[idx] - cs[lo]) / np.maximum(cnt, 1), np.nan)


def parse_hline(text: str) -> Tuple[float, str]:
    value, _, label = text.partition(":")
    try:
        return float(value), label
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hline expects VALUE:LABEL, got {text!r}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Plot SAMRI learning curves from metrics.jsonl")
    ap.add_argument("runs", nargs="+", help="run directories (containing metrics.jsonl) or .jsonl files")
    ap.add_argument("--output", "-o", default="curves.png", help="PNG to write (default curves.png)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--smooth", type=int, default=1, metavar="K",
                    help="trailing moving average over K steps for the training loss (default 1 = off)")
    ap.add_argument("--hline", type=parse_hline, action="append", default=[], metavar="VALUE:LABEL",
                    help="dashed reference line on the Dice panel (repeatable)")
    ap.add_argument("--csv", default=None, help="write the validation lines as step,set,dice,run rows")
    ap.add_argument("--dpi", type=int, default=120)
    args = ap.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = []
    for run in args.runs:
        path = metrics_path(run)
        if not os.path.isfile(path):
            print(f"error: {path}: no such file", file=sys.stderr)
            return 2
        train, val, skipped = read_metrics(path)
        if skipped:
            print(f"warning: {path}: skipped {skipped} unparsable line(s)", file=sys.stderr)
        data.append((run_label(run), train, val))

    multi = len(data) > 1
    fig, (ax_loss, ax_dice) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]

    for ri, (label, train, _) in enumerate(data):
        if not train:
            continue
        c = colors[ri % len(colors)]
        x = np.array([s for s, _ in train])
        y = np.array([v for _, v in train])
        if args.smooth > 1:
            ax_loss.plot(x, y, color=c, alpha=0.2, linewidth=0.8)
            ax_loss.plot(x, moving_average(y, args.smooth), color=c, linewidth=1.6,
                         label=f"{label} (MA {args.smooth})" if multi else f"train loss (MA {args.smooth})")
        else:
            ax_loss.plot(x, y, color=c, linewidth=1.2, label=label if multi else "train loss")
    ax_loss.set_ylabel("training loss (20·focal + dice)")
    ax_loss.grid(True, alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend(fontsize=8)
    else:
        ax_loss.text(0.5, 0.5, "no step lines", ha="center", va="center", transform=ax_loss.transAxes)

    set_names = sorted({s for _, _, val in data for s in val},
                       key=lambda s: (s not in ("seen", "zeroshot"), s != "seen", s))
    line_styles = ["-", "--", "-.", ":"]
    for ri, (label, _, val) in enumerate(data):
        for si, name in enumerate(set_names):
            pts = val.get(name)
            if not pts:
                continue
            if multi:
                c = colors[ri % len(colors)]
                ls = line_styles[si % len(line_styles)]
            else:
                c = colors[si % len(colors)]
                ls = "-"
            ax_dice.plot([s for s, _ in pts], [d for _, d in pts], color=c, linestyle=ls,
                         marker=markers[si % len(markers)], markersize=4,
                         label=f"{label}: {name}" if multi else name)
    for hi, (value, hlabel) in enumerate(args.hline):
        ax_dice.axhline(value, color="gray" if hi == 0 else colors[(hi + 3) % len(colors)],
                        linestyle="--", linewidth=1.0, label=hlabel or f"{value:g}")
    ax_dice.set_xlabel("optimiser step")
    ax_dice.set_ylabel("validation Dice")
    ax_dice.grid(True, alpha=0.3)
    if ax_dice.lines:
        ax_dice.legend(fontsize=8)
    if not any(val for _, _, val in data):
        ax_dice.text(0.5, 0.5, "no val lines", ha="center", va="center", transform=ax_dice.transAxes)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.output, dpi=args.dpi)
    plt.close(fig)

    n_train = sum(len(t) for _, t, _ in data)
    n_val = sum(len(p) for _, _, v in data for p in v.values())
    print(f"wrote {args.output} ({len(data)} run(s), {n_train} step points, {n_val} val points)")

    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["step", "set", "dice", "run"])
            for label, _, val in data:
                rows = sorted((s, name, d) for name, pts in val.items() for s, d in pts)
                for s, name, d in rows:
                    w.writerow([int(s) if float(s).is_integer() else s, name,
                                "nan" if math.isnan(d) else f"{d:.6g}", label])
        print(f"wrote {args.csv} ({n_val} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
