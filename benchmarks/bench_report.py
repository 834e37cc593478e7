"""Reporting of ``bench_engine.py``: machine information and the printed tables."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from typing import Any

import numpy as np


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str:
    try:
        return __import__(name).__version__
    except ImportError:
        return "absent"


def machine_info() -> dict[str, Any]:
    """CPU, versions and thread counts of both sides."""
    import torch

    info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numba": _version("numba"),
        "jax": _version("jax"),
        "load_avg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            f"{p.get('internal_api')} {p.get('version') or ''} {p.get('num_threads')} threads "
            f"({os.path.basename(p.get('filepath', ''))})"
            for p in threadpool_info()
        ]
    except ImportError:
        info["blas"] = ["unknown (threadpoolctl is not installed)"]
    return info


def _us(x: float) -> str:
    return f"{x * 1e6:,.0f}" if x >= 1e-4 else f"{x * 1e6:,.1f}"


def _format(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return [lines[0], "-" * max(len(x) for x in lines), *lines[1:]]


def table(results: list[dict[str, Any]]) -> list[str]:
    """The timing table as lines of text: one row per case and side."""
    rows = [
        (
            "case",
            "side",
            "wall us/step [min-max]",
            "x initlab",
            "CPU us/step",
            "x initlab (CPU)",
            "peak MiB",
            "others' CPU",
        )
    ]
    for r in results:
        others = r["other_processes_cpu_fraction"]
        for i, (name, s) in enumerate(r["s_per_step"].items()):
            ratio = r["ratio_to_initlab"].get(name)
            c = r["cpu_s_per_step"][name]
            cratio = r["cpu_ratio_to_initlab"].get(name)
            mem = r["peak_mib"].get(name)
            rows.append(
                (
                    f"{r['case']} {r['label']}" if i == 0 else "",
                    name,
                    f"{_us(s['median'])} [{_us(s['min'])}-{_us(s['max'])}]",
                    "" if ratio is None else f"{ratio['median']:.2f}x",
                    _us(c["median"]),
                    "" if cratio is None else f"{cratio['median']:.2f}x",
                    "?" if mem is None else f"{mem:.1f}",
                    ("?" if others is None else f"{100 * others:.0f}%") if i == 0 else "",
                )
            )
    return _format(rows)


def summary(results: list[dict[str, Any]]) -> list[str]:
    """The targets of issue 18, per case: initlab against JAX scan (>= 1, >= 1.5 for the
    populations) and the small case against its FLOP count."""
    out = []
    for r in results:
        ratio = r["ratio_to_initlab"].get("jax scan")
        if ratio is None or "initlab" not in r["s_per_step"]:
            continue
        cratio = r["cpu_ratio_to_initlab"]["jax scan"]["median"]
        need = 1.5 if r["population"] > 1 else 1.0
        t = r["s_per_step"]["initlab"]["median"]
        gflops = r["flops_per_step"] / t / 1e9
        out.append(
            f"{r['case']}: jax scan / initlab = {ratio['median']:.2f}x wall, {cratio:.2f}x CPU "
            f"(target >= {need:g}x: {'PASS' if min(ratio['median'], cratio) >= need else 'FAIL'});"
            " initlab "
            f"{r['flops_per_step'] / 1e6:.3g} MFLOP/step of matmuls in {t * 1e6:,.1f} us = "
            f"{gflops:.1f} GFLOP/s; fast path {'on' if r['fast_path'] else 'off'}"
        )
    return out


def check_lines(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in results:
        c = r["check"]
        parts = []
        if "torch" in c:
            t = c["torch"]
            parts.append(
                f"torch fp64 replay max|dp| {t['fp64_max_abs_param_diff']:.1e}, fp32 grads "
                f"{t['fp32_grad_max_diff_rel_to_max_grad']:.1e}"
                + ("" if t["ok"] else f" MISMATCH: {', '.join(t['failed'])}")
            )
        if "jax" in c:
            j = c["jax"]
            parts.append(
                f"jax fp32 grads {j['fp32_grad_max_diff_rel_to_max_grad']:.1e}, cost "
                f"{j['fp32_cost_max_rel_diff_same_params']:.1e}" + ("" if j["ok"] else " MISMATCH")
            )
        if "final_costs" in c:
            parts.append(
                "final cost " + ", ".join(f"{k} {v[0]:.6f}" for k, v in c["final_costs"].items())
            )
        out.append(f"{r['case']}: " + "; ".join(parts))
    return out


def print_report(info: dict[str, Any], results: list[dict[str, Any]], quick: bool) -> None:
    def load(key: str) -> str:
        return ", ".join(f"{x:.2f}" for x in info.get(key) or [])

    print(
        f"initlab engine vs JAX and PyTorch eager (CPU, float32, full-batch GD, 300 points), "
        f"{info['date']}{'  [--quick]' if quick else ''}\n"
        f"machine: {info['cpu']}, {info['cpu_count']} CPUs ({info['usable_cpus']} usable); "
        f"load average {load('load_avg_start')} at start, {load('load_avg_end')} at end\n"
        f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, jax "
        f"{info['jax']}, torch {info['torch']}; {info['threads']} thread(s) per library; "
        f"BLAS: {'; '.join(info['blas'])}\n"
        "wall us/step: median over the interleaved repeats [min-max]; CPU us/step: this process's "
        "CPU time, median; x initlab: median of the\npaired per-repeat ratios side / initlab "
        "(above 1: initlab is faster); PASS needs both ratios; peak MiB: growth of "
        "the peak resident set during one chunk; others' CPU: share of all CPUs\nthat other "
        "processes used during the case (timings are unreliable when it is high)\n"
    )
    print("\n".join(table(results)))
    print()
    print("\n".join(summary(results)))
    print()
    print("\n".join(check_lines(results)))
    busy = [r for r in results if (r["other_processes_cpu_fraction"] or 0.0) > 0.1]
    if busy:
        print(
            f"\nwarning: other processes used more than 10% of the CPUs during "
            f"{', '.join(r['case'] for r in busy)}; rerun on a quiet machine for figures to keep"
        )
