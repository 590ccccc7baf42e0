#!/usr/bin/env python3
"""Draws the README picture from `deploysim run ... --csv DIR` output.

Usage: python3 docs/plot_series.py OUT.png TITLE DIR [DIR ...]
Each DIR is a --csv output directory; one column of panels per DIR.
Needs matplotlib (pip install matplotlib).
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main():
    out, title, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    fig, axes = plt.subplots(3, len(dirs), figsize=(6 * len(dirs), 7), sharex=True, squeeze=False)
    for col, d in enumerate(dirs):
        rows = load(f"{d}/series.csv")
        t = [int(r["t"]) / 60 for r in rows]
        ok = [int(r["success_stable"]) + int(r["success_new"]) for r in rows]
        ended = [
            sum(int(r[k]) for k in r if k.split("_")[0] in ("success", "error", "timeout", "rejected")) + int(r["no_backend"])
            for r in rows
        ]
        err_pct = [100 * (e - o) / e if e else 0 for o, e in zip(ok, ended)]
        ax = axes[0][col]
        ax.set_title(d.rstrip("/").split("/")[-1])
        ax.stackplot(t, [int(r["success_stable"]) for r in rows], [int(r["success_new"]) for r in rows],
                     labels=["served by v1", "served by v2"], colors=["#4C72B0", "#55A868"])
        ax.set_ylabel("requests / s")
        ax.legend(loc="lower left", fontsize=8)
        axes[1][col].plot(t, err_pct, color="#C44E52")
        axes[1][col].set_ylabel("failed %")
        axes[2][col].plot(t, [int(r["ready_stable"]) for r in rows], label="ready v1", color="#4C72B0")
        axes[2][col].plot(t, [int(r["ready_new"]) for r in rows], label="ready v2", color="#55A868")
        axes[2][col].set_ylabel("ready instances")
        axes[2][col].set_xlabel("minutes")
        axes[2][col].legend(loc="center right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


if __name__ == "__main__":
    main()
