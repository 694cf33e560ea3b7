#!/usr/bin/python3
"""Plot the per-case scores that ``samri-eval`` writes to cases.csv.

Draws three figures for one metric (``--metric``, Dice by default; any numeric
column of cases.csv works, e.g. hd, msd, hd95, nsd):

  * ``{metric}_by_size``    (the paper's Figure 2 style): for each object-size
    bin (small, medium, large; or bin1..binN; or whatever bins the file holds),
    the median per method as a bar with an interquartile (Q1..Q3) error bar,
    methods side by side, and the number of cases under each bin's name.
    Cases whose reference mask is empty (size_bin empty or ``none``) are left
    out of this figure only.
  * ``{metric}_by_dataset`` (Figure 3 style): box plots per dataset, methods
    side by side within each dataset.
  * ``{metric}_by_target``  (Figure 4 style): box plots per target (the
    label_name; the label value where the name is empty, prefixed with the
    dataset when the file holds several datasets), methods side by side.
    Horizontal when there are more than 12 targets, so the names stay readable.

Boxes: median line, box Q1..Q3, whiskers to the furthest case within 1.5 IQR,
cases beyond them as dots. A *method* is the ``model`` value; when the file
mixes prompt kinds (the ``prompt`` column holds more than one distinct value,
as samri-eval's own tables decide) it is ``model (prompt)``. Empty cells (and
non-finite numbers) are missing values: they are left out of the statistics,
and each figure states how many of its cases had none. ``n`` is the number of
cases with a value per method (a range when the methods differ).

Each figure is written in each of ``--formats`` (png,svg by default) to a
temporary name in the output folder and then renamed, so no half-written file
is ever left; the paths written are printed, one a line.

Dependencies: numpy, matplotlib (Debian: python3-matplotlib).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
import tempfile
import textwrap
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

# Columns the figures use (the metric column is checked separately).
REQUIRED = ("dataset", "label", "label_name", "size_bin", "prompt", "model")
# Text columns of cases.csv: never a metric.
TEXT_COLUMNS = {"dataset", "patient", "image", "label_name", "size_bin", "prompt", "model", "empty"}
METRIC_NAMES = {
    "dice": "Dice",
    "hd": "Hausdorff distance",
    "msd": "mean surface distance",
    "hd95": "95% Hausdorff distance",
    "nsd": "normalised surface Dice",
}
UNIT_INTERVAL_METRICS = {"dice", "nsd"}
NO_SIZE_BINS = {"", "none"}
MAX_VERTICAL_GROUPS = 12
UMASK = os.umask(0o022)
os.umask(UMASK)

EPILOG = """example:
  /usr/bin/python3 scripts/plot_eval.py eval/cases.csv --output eval/figures \\
      --title "SAMRI ViT-B, test split"
  /usr/bin/python3 scripts/plot_eval.py eval/cases.csv --output eval/figures \\
      --metric hd --formats png
writes DIR/{metric}_by_size, DIR/{metric}_by_dataset and DIR/{metric}_by_target
in each format."""


class InputError(Exception):
    """A problem with the input or the arguments, reported as one line."""


class Case:
    __slots__ = ("method", "dataset", "target", "size_bin", "value")

    def __init__(self, method: str, dataset: str, target: str, size_bin: str, value: Optional[float]):
        self.method = method
        self.dataset = dataset
        self.target = target
        self.size_bin = size_bin
        self.value = value


def metric_label(metric: str) -> str:
    return METRIC_NAMES.get(metric.lower(), metric)


def read_cases(path: str, metric: str) -> List[Case]:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise InputError(f"{path}: not a regular file")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise InputError(f"{path}: empty file (expected a cases.csv header row)")
            header = [h.strip() for h in header]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise InputError(
                    f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)} (is this a samri-eval cases.csv?)")
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e})") from None
    except csv.Error as e:
        raise InputError(f"{path}: malformed CSV: {e}") from None
    except OSError as e:
        raise InputError(f"{path}: {e.strerror or e}") from None
    if not rows:
        raise InputError(f"{path}: no rows (only a header)")

    col = {name: i for i, name in reversed(list(enumerate(header)))}
    if metric not in col or metric in TEXT_COLUMNS:
        numeric = [h for h in header if h not in TEXT_COLUMNS and h in col
                   and _looks_numeric(rows, col[h])]
        why = "is a text column" if metric in TEXT_COLUMNS else "is not a column"
        raise InputError(f"{path}: unknown metric '{metric}': it {why}; numeric columns: "
                         f"{', '.join(numeric) or 'none'}")

    def cell(row: Sequence[str], name: str) -> str:
        i = col[name]
        return row[i].strip() if i < len(row) else ""

    with_prompt = len({cell(r, "prompt") for _, r in rows}) > 1
    several_datasets = len({cell(r, "dataset") for _, r in rows}) > 1
    cases: List[Case] = []
    non_finite = 0
    for line, row in rows:
        text = cell(row, metric)
        value: Optional[float] = None
        if text:
            try:
                value = float(text)
            except ValueError:
                raise InputError(f"{path}:{line}: column '{metric}' holds '{text}', not a number") from None
            if not math.isfinite(value):
                value = None
                non_finite += 1
        model, prompt = cell(row, "model"), cell(row, "prompt")
        method = model or "(no model)"
        if with_prompt and prompt:
            method = f"{method} ({prompt})"
        dataset = cell(row, "dataset") or "(no dataset)"
        target = cell(row, "label_name")
        if not target:
            label = cell(row, "label") or "?"
            target = f"{dataset}: label {label}" if several_datasets else f"label {label}"
        cases.append(Case(method, dataset, target, cell(row, "size_bin"), value))
    if all(c.value is None for c in cases):
        what = f"{len(cases) - non_finite} empty" + (f", {non_finite} not finite" if non_finite else "")
        raise InputError(f"{path}: column '{metric}' has no values ({what})")
    return cases


def _looks_numeric(rows: List[Tuple[int, List[str]]], index: int) -> bool:
    seen = False
    for _, row in rows[:200]:
        text = row[index].strip() if index < len(row) else ""
        if not text:
            continue
        try:
            float(text)
        except ValueError:
            return False
        seen = True
    return seen


def first_appearance(values) -> List[str]:
    return list(dict.fromkeys(values))


def size_bin_order(bins: List[str]) -> List[str]:
    canonical = ["small", "medium", "large"]
    if set(bins) <= set(canonical):
        return [b for b in canonical if b in bins]
    numbered = [re.fullmatch(r"bin(\d+)", b) for b in bins]
    if all(numbered):
        return sorted(bins, key=lambda b: int(b[3:]))
    return bins


def method_colours(n: int) -> List:
    import matplotlib

    if n <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = matplotlib.colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = matplotlib.colormaps["turbo"]
    return [cmap(x) for x in np.linspace(0.05, 0.95, n)]


def group_values(cases: List[Case], key: str, groups: List[str], methods: List[str]) -> Dict[Tuple[str, str], np.ndarray]:
    out: Dict[Tuple[str, str], List[float]] = {(g, m): [] for g in groups for m in methods}
    for c in cases:
        k = (getattr(c, key), c.method)
        if c.value is not None and k in out:
            out[k].append(c.value)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def count_text(values: Dict[Tuple[str, str], np.ndarray], group: str, methods: List[str]) -> str:
    counts = [len(values[(group, m)]) for m in methods]
    lo, hi = min(counts), max(counts)
    return f"n={lo}" if lo == hi else f"n={lo}\u2013{hi}"


def cases_text(n: int) -> str:
    return f"{n} case" if n == 1 else f"{n} cases"


def have(n: int) -> str:
    return "has" if n == 1 else "have"


def missing_note(cases: List[Case], metric: str) -> str:
    missing = sum(1 for c in cases if c.value is None)
    if not missing:
        return ""
    return f"{missing} of {cases_text(len(cases))} {have(missing)} no {metric} value and {'is' if missing == 1 else 'are'} left out"


def set_titles(ax, title: str, note: str) -> None:
    ax.set_title(title, fontsize=12, pad=18 if note else 8)
    if note:
        ax.annotate(note, xy=(0.5, 1.0), xycoords="axes fraction", xytext=(0, 5),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8.5,
                    color="0.3")


def outside_legend(ax, handles, labels) -> None:
    ax.legend(handles, labels, title="method", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0, frameon=False, fontsize=9, title_fontsize=9)


def value_axis_limits(ax, metric: str, cases: List[Case], horizontal: bool) -> None:
    values = [c.value for c in cases if c.value is not None]
    if metric.lower() in UNIT_INTERVAL_METRICS and values and min(values) >= 0 and max(values) <= 1:
        (ax.set_xlim if horizontal else ax.set_ylim)(-0.03, 1.03)


def full_title(user_title: str, text: str) -> str:
    return f"{user_title}: {text}" if user_title else text


def figure_by_size(plt, cases: List[Case], methods: List[str], colours, metric: str, user_title: str):
    from matplotlib.patches import Patch

    binned = [c for c in cases if c.size_bin.lower() not in NO_SIZE_BINS]
    if not any(c.value is not None for c in binned):
        return None
    bins = size_bin_order(first_appearance(c.size_bin for c in binned))
    values = group_values(binned, "size_bin", bins, methods)
    m = len(methods)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.5 + len(bins) * (0.6 + 0.45 * m)), 4.8))
    group_width = min(0.8, 0.2 + 0.3 * m)
    width = group_width / m
    x = np.arange(len(bins), dtype=float)
    for j, (method, colour) in enumerate(zip(methods, colours)):
        pos, med, lo, hi = [], [], [], []
        for i, b in enumerate(bins):
            v = values[(b, method)]
            if len(v) == 0:
                continue
            q1, q2, q3 = np.percentile(v, [25, 50, 75])
            pos.append(x[i] - group_width / 2 + (j + 0.5) * width)
            med.append(q2)
            lo.append(q2 - q1)
            hi.append(q3 - q2)
        if not pos:
            continue
        ax.bar(pos, med, width=width * 0.9, color=colour, alpha=0.85, edgecolor="white",
               linewidth=0.5, label=method, zorder=2)
        ax.errorbar(pos, med, yerr=[lo, hi], fmt="none", ecolor="0.15", elinewidth=1.1,
                    capsize=min(4.0, 30.0 / m), zorder=3)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{b}\n({count_text(values, b, methods)})" for b in bins])
    ax.set_xlim(-0.6, len(bins) - 0.4)
    ax.set_xlabel("object size (reference area fraction bin)")
    ax.set_ylabel(f"{metric_label(metric)} (median, IQR)")
    value_axis_limits(ax, metric, binned, horizontal=False)
    if metric.lower() in UNIT_INTERVAL_METRICS:
        ax.set_ylim(bottom=0)
    ax.yaxis.grid(True, alpha=0.3)
    ax.set_axisbelow(True)
    outside_legend(ax, [Patch(facecolor=c, alpha=0.85) for c in colours], methods)
    unbinned = len(cases) - len(binned)
    parts = [missing_note(binned, metric)] if any(c.value is None for c in binned) else []
    if unbinned:
        parts.append(f"{cases_text(unbinned)} with an empty reference mask (or no size bin) "
                     f"{'is' if unbinned == 1 else 'are'} not shown")
    set_titles(ax, full_title(user_title, f"{metric_label(metric)} by object size"), "; ".join(parts))
    return fig


def figure_boxes(plt, cases: List[Case], methods: List[str], colours, metric: str, key: str,
                 group_name: str, title_text: str, user_title: str):
    from matplotlib.patches import Patch

    groups = first_appearance(getattr(c, key) for c in cases)
    values = group_values(cases, key, groups, methods)
    m, g = len(methods), len(groups)
    horizontal = g > MAX_VERTICAL_GROUPS
    labels = [str(x) for x in groups]
    if horizontal:
        height = max(4.5, 1.6 + g * (0.12 + 0.2 * m))
        fig, ax = plt.subplots(figsize=(9.0, height))
        tick_labels = [f"{s} ({count_text(values, s, methods)})" for s in labels]
    else:
        width = max(6.0, 1.5 + g * (0.5 + 0.4 * m))
        fig, ax = plt.subplots(figsize=(width, 5.0))
        # Wrap names onto at most 3 lines to fit their group's width; rotate when they cannot.
        chars = max(6, int((width - 1.0) / g / 0.085))
        wrapped = [textwrap.wrap(s, chars, break_on_hyphens=False) or [s] for s in labels]
        rotate = any(len(w) > 3 or max(len(x) for x in w) > chars for w in wrapped)
        if rotate:
            tick_labels = [f"{s} ({count_text(values, s, methods)})" for s in labels]
        else:
            tick_labels = ["\n".join(w) + f"\n({count_text(values, s, methods)})"
                           for s, w in zip(labels, wrapped)]
    group_width = min(0.8, 0.2 + 0.3 * m)
    width_each = group_width / m
    centres = np.arange(g, dtype=float)
    for j, (method, colour) in enumerate(zip(methods, colours)):
        data, pos = [], []
        for i, grp in enumerate(groups):
            v = values[(grp, method)]
            if len(v):
                data.append(v)
                pos.append(centres[i] - group_width / 2 + (j + 0.5) * width_each)
        if not data:
            continue
        ax.boxplot(
            data, positions=pos, widths=width_each * 0.8, vert=not horizontal, patch_artist=True,
            manage_ticks=False,
            boxprops=dict(facecolor=colour, edgecolor="0.2", linewidth=0.8, alpha=0.85),
            medianprops=dict(color="black", linewidth=1.3),
            whiskerprops=dict(color="0.3", linewidth=0.8),
            capprops=dict(color="0.3", linewidth=0.8),
            flierprops=dict(marker="o", markersize=2.5, markerfacecolor=colour,
                            markeredgecolor="none", alpha=0.6))
    for b in centres[:-1] + 0.5:  # faint separators between groups
        (ax.axhline if horizontal else ax.axvline)(b, color="0.85", linewidth=0.8, zorder=0)
    value_label = metric_label(metric)
    if horizontal:
        ax.set_yticks(centres)
        ax.set_yticklabels(tick_labels, fontsize=9)
        ax.set_ylim(g - 0.5, -0.5)  # first group on top
        ax.set_xlabel(value_label)
        ax.set_ylabel(group_name)
        ax.xaxis.grid(True, alpha=0.3)
    else:
        ax.set_xticks(centres)
        if rotate:
            ax.set_xticklabels(tick_labels, rotation=35, ha="right", rotation_mode="anchor", fontsize=9)
        else:
            ax.set_xticklabels(tick_labels)
        ax.set_xlim(-0.5, g - 0.5)
        ax.set_ylabel(value_label)
        ax.set_xlabel(group_name)
        ax.yaxis.grid(True, alpha=0.3)
    ax.set_axisbelow(True)
    value_axis_limits(ax, metric, cases, horizontal)
    handles = [Patch(facecolor=c, edgecolor="0.2", alpha=0.85) for c in colours]
    outside_legend(ax, handles, methods)
    set_titles(ax, full_title(user_title, f"{value_label} {title_text}"), missing_note(cases, metric))
    return fig


def save_atomically(fig, directory: str, stem: str, formats: List[str]) -> List[str]:
    written = []
    for fmt in formats:
        final = os.path.join(directory, f"{stem}.{fmt}")
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".{fmt}.tmp", dir=directory)
        os.close(fd)
        try:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
            os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes it 0600
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        written.append(final)
    return written


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Plot samri-eval's cases.csv: a metric by object size (median, IQR), "
                    "by dataset and by target (box plots), one colour per method.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cases", metavar="CASES_CSV", help="cases.csv written by samri-eval")
    p.add_argument("--output", "-o", required=True, metavar="DIR",
                   help="folder for the figures (created if missing)")
    p.add_argument("--metric", default="dice",
                   help="numeric column to plot: dice (default), hd, msd, hd95, nsd, ...")
    p.add_argument("--formats", default="png,svg",
                   help="comma-separated image formats (default: png,svg)")
    p.add_argument("--title", default="", help="text put before each figure's title")
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "plot_eval.py"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        metric = args.metric.strip()
        if not metric:
            raise InputError("--metric is empty")
        formats = [f.strip().lower().lstrip(".") for f in args.formats.split(",") if f.strip()]
        if not formats:
            raise InputError("--formats names no format")
        supported = plt.figure().canvas.get_supported_filetypes()
        plt.close("all")
        bad = [f for f in formats if f not in supported]
        if bad:
            raise InputError(f"unsupported format{'s' if len(bad) > 1 else ''} {', '.join(bad)}; "
                             f"supported: {', '.join(sorted(supported))}")
        formats = first_appearance(formats)

        cases = read_cases(args.cases, metric)
        methods = first_appearance(c.method for c in cases)
        colours = method_colours(len(methods))
        if os.path.exists(args.output) and not os.path.isdir(args.output):
            raise InputError(f"{args.output}: exists and is not a folder")
        try:
            os.makedirs(args.output, exist_ok=True)
        except OSError as e:
            raise InputError(f"{args.output}: cannot create the output folder: {e.strerror or e}") from None
        if not os.access(args.output, os.W_OK):
            raise InputError(f"{args.output}: output folder is not writable")

        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", metric)
        figures = [
            (f"{stem}_by_size", lambda: figure_by_size(plt, cases, methods, colours, metric, args.title)),
            (f"{stem}_by_dataset", lambda: figure_boxes(plt, cases, methods, colours, metric, "dataset",
                                                        "dataset", "by dataset", args.title)),
            (f"{stem}_by_target", lambda: figure_boxes(plt, cases, methods, colours, metric, "target",
                                                       "target", "by target", args.title)),
        ]
        for name, draw in figures:
            fig = draw()
            if fig is None:
                print(f"{prog}: note: {name} not drawn: no case with a size bin has a "
                      f"{metric} value", file=sys.stderr)
                continue
            try:
                for path in save_atomically(fig, args.output, name, formats):
                    print(path)
            finally:
                plt.close(fig)
    except InputError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
