"""The figure: latency, where search time goes, insert throughput, memory, disk, and the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _legend(ax, **kwargs: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, **kwargs)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    fig.suptitle(f"Scale on {results.get('machine', {}).get('cpus', '?')} cores, shared machine "
                 f"(commit {results.get('machine', {}).get('commit', '?')}); "
                 "hollow markers = extrapolated (power law through the two largest measured sizes), not measured",
                 fontsize=12)
    styles = {"embedded": ("tab:blue", "o"), "server": ("tab:orange", "s"),
              "embedded-llama-metadata": ("tab:cyan", "v"), "server-llama-metadata": ("tab:brown", "^")}
    from matplotlib.ticker import FuncFormatter, LogLocator

    plain = FuncFormatter(lambda value, _pos: f"{value:g}")

    def series(ax, key: str, label: str, scale: float = 1.0, dashed: bool = False) -> None:
        for mode, by_size in results.get("store", {}).items():
            color, marker = styles.get(mode, ("gray", "^"))
            points = sorted((int(s), r.get(key), bool(r.get("extrapolated"))) for s, r in by_size.items()
                            if isinstance(r.get(key), (int, float)))
            if not points:
                continue
            xs, ys = [p[0] for p in points], [p[1] * scale for p in points]
            ax.plot(xs, ys, color=color, linestyle="--" if dashed else "-", alpha=0.8)
            for x, y, est in points:
                ax.plot(x, y * scale, marker=marker, color=color, markerfacecolor="white" if est else color)
            ax.plot([], [], color=color, marker=marker, linestyle="--" if dashed else "-", label=f"{mode} {label}")

    ax = axes[0][0]
    series(ax, "hybrid_p50_ms", "p50")
    series(ax, "hybrid_p95_ms", "p95", dashed=True)
    ax.axhline(100, color="red", linewidth=1, linestyle=":", label="target p50 100 ms (100k)")
    ax.set(title="Hybrid search latency", xlabel="chunks", ylabel="ms", xscale="log", yscale="log")
    _legend(ax)

    ax = axes[0][1]
    series(ax, "dense_p50_ms", "dense p50")
    series(ax, "bm25_p50_ms", "BM25 p50", dashed=True)
    alone = sorted((int(n), r) for n, r in results.get("bm25_only", {}).items())
    if alone:
        ax.plot([n for n, _ in alone], [r["bm25_p50_ms"] for n, r in alone], color="tab:green", marker="x",
                linestyle=":", label="BM25 alone, measured (reader top-50)")
        ax.plot([n for n, _ in alone], [r["bm25_scoring_p50_ms"] + r["top_n_partition_p50_ms"] for n, r in alone],
                color="tab:olive", marker="+", linestyle=":", label="BM25 alone with partition top-50 (fix)")
    ax.set(title="Where search time goes (p50 of each part)", xlabel="chunks", ylabel="ms", xscale="log",
           yscale="log")
    _legend(ax)

    ax = axes[0][2]
    series(ax, "insert_chunks_per_s", "insert (whole build)")
    for mode, by_size in results.get("insert_curves", {}).items():
        color, _marker = styles.get(mode, ("gray", "^"))
        biggest = max(by_size, key=int)  # the longest curve of each mode: the growth as measured
        points = by_size[biggest]
        ax.plot([p["rows"] for p in points], [p["rows_per_s"] for p in points], color=color, linewidth=0.8,
                alpha=0.6, label=f"{mode} rows/s while building {int(biggest):,}")
    ax.set(title="Store insert throughput", xlabel="chunks", ylabel="chunks/s", xscale="log")
    ax.set_ylim(bottom=0)
    _legend(ax)

    ax = axes[1][0]
    series(ax, "search_peak_rss_mib", "search process", scale=1 / 1024)
    series(ax, "build_peak_rss_mib", "build process", scale=1 / 1024, dashed=True)
    by_size = results.get("store", {}).get("server", {})
    points = sorted((int(s), r["server_peak_rss_mib"] / 1024, bool(r.get("extrapolated"))) for s, r in by_size.items()
                    if isinstance(r.get("server_peak_rss_mib"), (int, float)))
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], color="tab:red", linestyle="-.")
        for x, y, est in points:
            ax.plot(x, y, marker="D", color="tab:red", markerfacecolor="white" if est else "tab:red")
        ax.plot([], [], color="tab:red", linestyle="-.", marker="D", label="chroma run server process")
    ax.axhline(4, color="red", linewidth=1, linestyle=":", label="target 4 GiB (100k)")
    ax.set(title="Peak RSS", xlabel="chunks", ylabel="GiB", xscale="log", yscale="log")
    _legend(ax)

    ax = axes[1][1]
    series(ax, "index_mib", "index total", scale=1 / 1024)
    ax.set(title="Index size on disk", xlabel="chunks", ylabel="GiB", xscale="log", yscale="log")
    _legend(ax)

    ax = axes[1][2]
    pipeline = results.get("pipeline", {})
    if pipeline:
        sizes = sorted(pipeline, key=int)
        xs = range(len(sizes))
        ingest = [pipeline[s]["ingest_chunks_per_s"] for s in sizes]
        raw = [pipeline[s]["raw_chunks_per_s"] for s in sizes]
        ax.bar([x - 0.2 for x in xs], raw, width=0.4, color="tab:green", label="raw embedding")
        ax.bar([x + 0.2 for x in xs], ingest, width=0.4, color="tab:purple", label="whole ingest")
        for x, s in zip(xs, sizes):
            r = pipeline[s]
            ax.text(x + 0.2, ingest[x], f"ratio wall {r['ratio_wall']:.2f}\nCPU {r['ratio_cpu']:.2f}", ha="center",
                    va="bottom", fontsize=8)
        ax.set_xticks(list(xs), [f"{int(s):,} papers\n({pipeline[s]['chunks']:,} chunks)" for s in sizes])
        ax.set(title="Ingest pipeline vs raw MiniLM embedding", ylabel="chunks/s")
        _legend(ax, loc="lower right")
    else:
        ax.set_axis_off()
    for ax in axes.flat:
        if ax.axison and not ax.get_legend_handles_labels()[0]:
            ax.text(0.5, 0.5, "not measured yet", ha="center", va="center", transform=ax.transAxes, color="gray")
            ax.set_xscale("linear")
            ax.set_yscale("linear")
        if ax.axison and ax.get_yscale() == "log":
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _pos: ""))
        ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
