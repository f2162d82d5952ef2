"""Time a control change of each widget: recompute + Agg redraw + PNG, median and p95 (ms).

Each control is swept across its range (``--moves`` evenly spaced values, there and back), as a
learner dragging a slider would; wall-clock and CPU time are both reported, since on a shared
machine the wall-clock time includes waiting for a core. Target: median under 50 ms on 2 cores.

    python bench/widgets.py [--moves 40]
"""

from __future__ import annotations

import argparse
import time

import ipywidgets
import matplotlib
import numpy as np

matplotlib.use("Agg")

from dlcourse import widgets as W


def sweep(control, moves: int) -> list:
    if isinstance(control, ipywidgets.Checkbox):
        return [not control.value, control.value] * (moves // 2)
    if isinstance(control, ipywidgets.SelectionSlider):
        values = list(control.options)
    elif isinstance(control, ipywidgets.FloatLogSlider):
        values = [control.base**e for e in np.linspace(control.min, control.max, moves // 2)]
    else:
        values = np.linspace(control.min, control.max, moves // 2).astype(type(control.value))
        values = list(dict.fromkeys(values.tolist()))
    return values + values[::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=40)
    args = parser.parse_args()
    print(
        f"{'widget':18} {'control':11} {'n':>4} {'median ms':>10} {'p95 ms':>8} "
        f"{'cpu median':>11} {'cpu p95':>8}"
    )
    for factory in (W.momentum_valley, W.l1_vs_l2, W.batch_size_saddle):
        start = time.perf_counter()
        w = factory()
        print(f"{factory.__name__:18} {'(build)':11} {1:4d} {(time.perf_counter() - start) * 1e3:10.1f}")
        for name, control in w.controls.items():
            default = control.value
            wall, cpu = [], []
            for value in sweep(control, args.moves):
                t0, c0 = time.perf_counter(), time.process_time()
                control.value = value
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            control.value = default
            wall, cpu = np.array(wall) * 1e3, np.array(cpu) * 1e3
            print(
                f"{'':18} {name:11} {len(wall):4d} {np.median(wall):10.1f} "
                f"{np.percentile(wall, 95):8.1f} {np.median(cpu):11.1f} "
                f"{np.percentile(cpu, 95):8.1f}"
            )


if __name__ == "__main__":
    main()
