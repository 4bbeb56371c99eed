#!/usr/bin/env python3
"""SVG charts of bench/run.py's results: one pure function per target (result dict -> SVG file).

  python3 bench/plots.py --from-json bench/out/gpt-ddp.json            # writes bench/out/gpt-ddp.svg
  python3 bench/plots.py --from-json kernels.json --kind kernels -o k.svg

run.py calls write_chart() after writing <out>/<target>.md. The kind is the result's "target" key;
shoal-kernels-bench's JSON (tests/gpu/run, tests/gpu/run-bundle) has none and is recognised by its
"gemm" list. Charts are deterministic (Agg backend, fixed svg.hashsalt, no date in the metadata),
so regenerating one from the same JSON does not change the file.

Needs matplotlib (Debian: python3-matplotlib, installed by scripts/install-deps.sh). Debian's
package lives in /usr/bin/python3's path; under another interpreter (pyenv) without matplotlib,
run.py and this command re-run the drawing with /usr/bin/python3.
"""
import argparse
import json
import os
import sys

HASHSALT = "shoal-bench"
METADATA = {"Date": None, "Creator": "shoal bench/plots.py"}
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"svg.hashsalt": HASHSALT, "svg.fonttype": "none", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _save(plt, fig, path, rect=(0, 0, 1, 1)):
    fig.tight_layout(rect=rect)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fig.savefig(path, format="svg", metadata=METADATA)
    plt.close(fig)
    return path


def _machine(result):
    m = result.get("machine") or {}
    if "cpu" in m:
        return f"{m.get('cores', '?')} cores of {m['cpu']}"
    if "gpu" in m:
        return f"{m['gpu']} ({m.get('sms', '?')} SMs)"
    return ""


def _label_bars(ax, bars, fmt="{:.0f}", horizontal=False):
    for b in bars:
        v = b.get_width() if horizontal else b.get_height()
        if horizontal:
            ax.annotate(fmt.format(v), (v, b.get_y() + b.get_height() / 2), xytext=(2, 0),
                        textcoords="offset points", va="center", fontsize=7)
        else:
            ax.annotate(fmt.format(v), (b.get_x() + b.get_width() / 2, v), xytext=(0, 2),
                        textcoords="offset points", ha="center", fontsize=7)


def plot_e2e(result, path):
    """Demo training throughput per configuration (ranks x threads): total and per rank."""
    plt = _pyplot()
    rows = result["rows"]
    labels = [f"{r['ranks']} rank{'s' if r['ranks'] > 1 else ''}\n× {r['threadsPerRank']} thr"
              for r in rows]
    x = range(len(rows))
    w = 0.38
    fig, ax = plt.subplots(figsize=(6, 3.6))
    b1 = ax.bar([i - w / 2 for i in x], [r["samplesPerSecTotal"] for r in rows], w,
                label="samples/s total", color=COLORS[0])
    b2 = ax.bar([i + w / 2 for i in x], [r["samplesPerSecPerRank"] for r in rows], w,
                label="samples/s per rank", color=COLORS[1])
    _label_bars(ax, b1)
    _label_bars(ax, b2)
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("samples/s")
    title = "e2e: demo MLP training throughput vs ranks"
    if "speedup2v1" in result:
        title += f"\n2 ranks / 1 rank: {result['speedup2v1']:.2f}x total"
    ax.set_title(title)
    ax.set_ylim(0, max(r["samplesPerSecTotal"] for r in rows) * 1.3)
    ax.legend(frameon=False, loc="upper left", ncol=2)
    fig.text(0.01, 0.01, _machine(result), fontsize=6, color="gray")
    return _save(plt, fig, path)


def plot_sim(result, path):
    """Policies per trace/cluster: avg and p99 JCT as ratios to fifo's (bars). shoal-sim keeps
    no per-job JCTs in its JSON, so there is no CDF to draw."""
    plt = _pyplot()
    runs = result["runs"]
    cols = 2 if len(runs) > 1 else 1
    nrows = (len(runs) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 2.6 * nrows), squeeze=False)
    for k, r in enumerate(runs):
        ax = axes[k // cols][k % cols]
        res = r["results"]
        fifo = next((x for x in res if x["policy"] == "fifo"), None)
        names = [x["policy"] for x in res]
        avg = [x["avgJctVsFifo"] if "avgJctVsFifo" in x else x["avgJctSec"] / fifo["avgJctSec"]
               for x in res]
        y = list(range(len(res)))
        h = 0.38
        b1 = ax.barh([i - h / 2 for i in y], avg, h, label="avg JCT / fifo", color=COLORS[0])
        _label_bars(ax, b1, "{:.2f}", horizontal=True)
        if fifo and all("p99JctSec" in x for x in res):
            p99 = [x["p99JctSec"] / fifo["p99JctSec"] for x in res]
            b2 = ax.barh([i + h / 2 for i in y], p99, h, label="p99 JCT / fifo", color=COLORS[1])
            _label_bars(ax, b2, "{:.2f}", horizontal=True)
        ax.axvline(1.0, color="gray", lw=0.8, ls="--")
        ax.set_yticks(y, names, fontsize=7)
        ax.invert_yaxis()
        trace = os.path.basename(str(r.get("trace", "?")))
        title = f"{trace} on {r.get('cluster', '?')}"
        if r.get("elasticMinFraction"):
            title += f", elastic {r['elasticMinFraction']:g}"
        if "jobs" in r:
            title += f" ({r['jobs']} jobs)"
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("ratio to fifo (lower is better)", fontsize=7)
        ax.set_xlim(0, ax.get_xlim()[1] * 1.12)  # room for the labels
        if k == 0:
            fig.legend(loc="lower center", ncol=2, frameon=False, fontsize=7)
    for k in range(len(runs), nrows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("sim: JCT by policy relative to fifo (per-job JCTs are not kept: no CDF)",
                 fontsize=9)
    return _save(plt, fig, path, rect=(0, 0.04, 1, 1))


def plot_kernels(result, path):
    """shoal-kernels-bench: GEMM % of cuBLAS per shape and precision; element-wise kernels' % of
    a device-to-device copy."""
    plt = _pyplot()
    gemm = [g for g in result.get("gemm", []) if "pct_of_reference" in g]
    mem = [m for m in result.get("memory", []) if "pct_of_reference" in m]
    panels = [p for p in ((gemm, "gemm"), (mem, "memory")) if p[0]]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 3.2 * len(panels)), squeeze=False)
    for ax, (rows, kind) in zip((a[0] for a in axes), panels):
        if kind == "gemm":
            shapes = list(dict.fromkeys(g["shape"] for g in rows))
            precs = list(dict.fromkeys(g["precision"] for g in rows))
            w = 0.8 / len(precs)
            for j, p in enumerate(precs):
                pct = {g["shape"]: g["pct_of_reference"] for g in rows if g["precision"] == p}
                xs = [i + (j - (len(precs) - 1) / 2) * w for i, s in enumerate(shapes) if s in pct]
                bars = ax.bar(xs, [pct[s] for s in shapes if s in pct], w, label=p,
                              color=COLORS[j % len(COLORS)])
                _label_bars(ax, bars)
            ax.set_xticks(range(len(shapes)), shapes, fontsize=7, rotation=15, ha="right")
            ax.set_ylabel("% of cuBLAS")
            ax.set_title("GEMM throughput as % of cuBLAS (same math mode)")
            ax.set_ylim(0, max(100, max(g["pct_of_reference"] for g in rows)) * 1.25)
            ax.legend(frameon=False, fontsize=7, ncol=len(precs), loc="upper left")
        else:
            names = [m["op"] for m in rows]
            bars = ax.bar(range(len(rows)), [m["pct_of_reference"] for m in rows], 0.6,
                          color=COLORS[2])
            _label_bars(ax, bars)
            ax.set_xticks(range(len(rows)), names, fontsize=7, rotation=20, ha="right")
            ax.set_ylabel("% of D2D copy GB/s")
            ax.set_title("Memory-bound kernels as % of a device-to-device copy")
            ax.set_ylim(0, max(100, max(m["pct_of_reference"] for m in rows)) * 1.15)
        ax.axhline(100, color="gray", lw=0.8, ls="--")
    fig.text(0.01, 0.005, "kernels: " + _machine(result), fontsize=6, color="gray")
    return _save(plt, fig, path)


def _two_bars(result, path, title, names, values, ylabel, note):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    bars = ax.bar(range(len(values)), values, 0.55, color=COLORS[:len(values)])
    _label_bars(ax, bars)
    ax.set_xticks(range(len(values)), names)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.text(0.01, 0.01, note, fontsize=6, color="gray")
    return _save(plt, fig, path)


def plot_gpt_ddp(result, path):
    """The demo GPT on 2 ranks: shoal vs PyTorch DDP tokens/s."""
    return _two_bars(result, path,
                     f"gpt-ddp: tokens/s, 2 ranks x 1 thread\nshoal / DDP = {result['ratio']:.2f}x",
                     ["shoal (Gloo)", "PyTorch DDP (gloo)"],
                     [result["shoalTokensPerSec"], result["ddpTokensPerSec"]], "tokens/s",
                     _machine(result))


def plot_gpt(result, path):
    """One rank's GPT step: shoal vs PyTorch tokens/s per thread count."""
    plt = _pyplot()
    rows = result["rows"]
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    w = 0.38
    x = list(range(len(rows)))
    b1 = ax.bar([i - w / 2 for i in x], [r["shoal"] for r in rows], w, label="shoal",
                color=COLORS[0])
    b2 = ax.bar([i + w / 2 for i in x], [r["pytorch"] for r in rows], w,
                label=rows[0].get("pytorch_version", "PyTorch"), color=COLORS[1])
    _label_bars(ax, b1)
    _label_bars(ax, b2)
    ax.set_xticks(x, [f"{r['threads']} thread{'s' if r['threads'] > 1 else ''}\n"
                      f"shoal / PyTorch {r['ratio']:.2f}x" for r in rows])
    ax.set_ylabel("tokens/s")
    ax.set_title("gpt: one rank's training step, tokens/s")
    ax.set_ylim(0, max(max(r["shoal"], r["pytorch"]) for r in rows) * 1.3)
    ax.legend(frameon=False, fontsize=7, loc="upper left", ncol=2)
    fig.text(0.01, 0.01, _machine(result), fontsize=6, color="gray")
    return _save(plt, fig, path)


def plot_ddp(result, path):
    """shoal vs PyTorch DDP on the demo MLP: samples/s bars; test accuracy over time from the
    runs (the time to 0.85), or the median time-to-0.85 as bars when no per-epoch runs are kept."""
    plt = _pyplot()
    rows = result["rows"]
    goal = 0.85
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    names = [r["system"] for r in rows]
    bars = a1.bar(range(len(rows)), [r["samplesPerSec"] for r in rows], 0.55,
                  color=COLORS[:len(rows)])
    _label_bars(a1, bars)
    a1.set_xticks(range(len(rows)), names)
    a1.set_ylabel("samples/s (2 ranks)")
    title = "ddp: training throughput"
    if result.get("samplesPerSecRatio"):
        title += f"\nshoal / {result.get('anchor', 'DDP')} = {result['samplesPerSecRatio']:.2f}x"
    a1.set_title(title)
    runs = result.get("runs") or {}
    if any(r.get("epochs") for rs in runs.values() for r in rs):
        for i, name in enumerate(names):
            for k, r in enumerate(runs.get(name, [])):
                ep = r.get("epochs") or []
                a2.plot([e["secondsSinceStart"] for e in ep],
                        [e["testAccuracy"] for e in ep], marker="o", ms=3, lw=1,
                        color=COLORS[i % len(COLORS)], label=name if k == 0 else None)
        a2.axhline(goal, color="gray", lw=0.8, ls="--")
        a2.set_xlabel("seconds since launch")
        a2.set_ylabel("test accuracy")
        a2.set_title(f"time to {goal} test accuracy (every run)")
        a2.legend(frameon=False, fontsize=7, loc="lower right")
    else:
        tta = [r.get("timeTo085") for r in rows]
        bars = a2.bar(range(len(rows)), [t or 0 for t in tta], 0.55, color=COLORS[:len(rows)])
        for b, t in zip(bars, tta):
            a2.annotate("never" if t is None else f"{t:.1f}",
                        (b.get_x() + b.get_width() / 2, b.get_height()), xytext=(0, 2),
                        textcoords="offset points", ha="center", fontsize=7)
        a2.set_xticks(range(len(rows)), names)
        a2.set_ylabel("seconds (lower is better)")
        a2.set_title(f"time to {goal} test accuracy (median)")
    fig.text(0.01, 0.01, _machine(result), fontsize=6, color="gray")
    return _save(plt, fig, path)


def plot_collectives(result, path):
    """All-reduce bus bandwidth vs message size, one line per transport."""
    plt = _pyplot()
    rows = result["rows"]
    names = [k for k in rows[0] if k != "bytes"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for i, n in enumerate(names):
        ax.plot([r["bytes"] for r in rows], [r[n]["busbwGBs"] for r in rows], marker="o", ms=3,
                color=COLORS[i % len(COLORS)], label=n)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("bytes per all-reduce")
    ax.set_ylabel("busbw (GB/s)")
    ax.set_title("collectives: 2-rank all-reduce on one host")
    ax.legend(frameon=False, fontsize=7)
    fig.text(0.01, 0.01, _machine(result), fontsize=6, color="gray")
    return _save(plt, fig, path)


PLOTTERS = {"e2e": plot_e2e, "sim": plot_sim, "kernels": plot_kernels, "gpt-ddp": plot_gpt_ddp,
            "gpt": plot_gpt, "ddp": plot_ddp, "collectives": plot_collectives}


def kind_of(result):
    """The target a result came from: its "target" key, or "kernels" for shoal-kernels-bench."""
    if isinstance(result, dict):
        if result.get("target"):
            return result["target"]
        if "gemm" in result:
            return "kernels"
    return None


def plot(kind, result, path):
    """Writes the chart of `result` (a target's JSON) to `path`; KeyError for an unknown kind."""
    return PLOTTERS[kind](result, path)


def main(argv=None):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        debian = "/usr/bin/python3"  # where Debian's python3-matplotlib lives
        if os.path.exists(debian) and os.path.realpath(debian) != os.path.realpath(sys.executable):
            os.execv(debian, [debian, os.path.abspath(__file__)] +
                     (sys.argv[1:] if argv is None else list(argv)))
        sys.exit("bench/plots.py: matplotlib is missing (apt-get install python3-matplotlib)")
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from-json", required=True, metavar="JSON", help="a saved result")
    p.add_argument("--kind", choices=sorted(PLOTTERS),
                   help="the target (default: the JSON's \"target\", or kernels)")
    p.add_argument("-o", "--out", metavar="SVG", help="default: the JSON's path with .svg")
    args = p.parse_args(argv)
    with open(args.from_json) as f:
        result = json.load(f)
    kind = args.kind or kind_of(result)
    if kind not in PLOTTERS:
        p.error(f"no chart for target {kind!r} (charts exist for {', '.join(sorted(PLOTTERS))})")
    out = args.out or os.path.splitext(args.from_json)[0] + ".svg"
    print(plot(kind, result, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
