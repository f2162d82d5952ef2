"""Time a control change of each widget, median and p95 per control (ms), in Jupyter and in the browser.

Jupyter: the matplotlib widgets of :mod:`dlcourse.widgets` (what a redraw costs the kernel:
recompute, Agg blit, PNG). Each control is swept across its range (``--moves`` evenly spaced
values, there and back), as a learner dragging a slider would; wall-clock and CPU time are both
reported, since on a shared machine the wall-clock time includes waiting for a core.
Target: p95 under 50 ms on 2 cores.

Browser: the live widgets of :mod:`dlcourse.widgets.live` on a page made with ipywidgets' embed
(the book's widget manager and anywidget's loader from ``book/_vendor``, no theme), in headless
Chromium from ``file://``; each control's ``<input>`` is moved the same way and the time from the
input event to the redrawn figure laid out is taken (``performance.now()`` in the page).
Target: p95 under 16 ms (one frame). The CPU time of the page's main thread per move (Chromium's
``ThreadTime``: the move, the next frame's style, layout and paint, and the call that makes the
move) is reported beside it, since on a busy machine the page also waits for a core.

The machine's load average is printed with the numbers: on a busy machine both grow.

    python bench/widgets.py [--moves 40] [--only jupyter|browser]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import ipywidgets
import matplotlib
import numpy as np

matplotlib.use("Agg")

from dlcourse import live
from dlcourse import widgets as W
from dlcourse.widgets.controls import by_name

ROOT = Path(__file__).resolve().parents[1]
FACTORIES = (W.momentum_valley, W.l1_vs_l2, W.batch_size_saddle, W.optimizer_race, W.activation_explorer)
LIVE = (
    live.live_momentum_valley,
    live.live_l1_vs_l2,
    live.live_batch_size_saddle,
    live.live_optimizer_race,
    live.live_activation_explorer,
)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def row(widget: str, control: str, ms, cpu=None) -> None:
    ms = np.asarray(ms)
    text = f"{widget:20} {control:12} {len(ms):4d} {np.median(ms):10.1f} {np.percentile(ms, 95):8.1f}"
    if cpu is not None:
        text += f" {np.median(cpu):11.1f} {np.percentile(cpu, 95):8.1f}"
    print(text, flush=True)


def sweep(control, moves: int) -> list:
    if isinstance(control, ipywidgets.Checkbox):
        return [not control.value, control.value] * (moves // 2)
    if isinstance(control, ipywidgets.SelectionSlider):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
    elif isinstance(control, ipywidgets.FloatLogSlider):
        values = [control.base**e for e in np.linspace(control.min, control.max, moves // 2)]
    else:
        values = np.linspace(control.min, control.max, moves // 2).astype(type(control.value))
        values = list(dict.fromkeys(values.tolist()))
    there = [v for v in values if v != control.value] + [control.value]
    path = (there + there[::-1][1:] + [control.value]) * max(1, moves // (2 * len(there)))
    return path  # no two equal values in a row: every move redraws


def jupyter(moves: int) -> None:
    print(f"\nJupyter (matplotlib widgets, in-process; {load()})")
    print(
        f"{'widget':20} {'control':12} {'n':>4} {'median ms':>10} {'p95 ms':>8} {'cpu median':>11} {'cpu p95':>8}"
    )
    for factory in FACTORIES:
        table = by_name(sys.modules[factory.__module__].CONTROLS)
        start = time.perf_counter()
        w = factory()
        row(factory.__name__, "(build)", [(time.perf_counter() - start) * 1e3])
        for name, control in w.controls.items():
            if table[name].enabled_by:  # acts only with another setting: give it that one
                gate, values = table[name].enabled_by
                w.controls[gate].value = values[0]
            default, wall, cpu = control.value, [], []
            for value in sweep(control, moves):
                t0, c0 = time.perf_counter(), time.process_time()
                control.value = value
                wall.append((time.perf_counter() - t0) * 1e3)
                cpu.append((time.process_time() - c0) * 1e3)
            control.value = default
            row("", name, wall, cpu)
    print(load())


MOVE = """async ([index, name, target]) => {
  const el = document.querySelectorAll('.dlc-live')[index];
  const input = el.querySelector(`input[data-trait="${name}"]`);
  const t0 = performance.now();
  if (input.type === 'checkbox') {
    input.checked = target === null ? !input.checked : target; input.dispatchEvent(new Event('change'));
  } else { input.value = target; input.dispatchEvent(new Event('input')); }
  el.getBoundingClientRect();
  const t = performance.now() - t0;
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return t;
}"""

CONTROLS = """(index) => [...document.querySelectorAll('.dlc-live')[index].querySelectorAll('input[data-trait]')]
  .map((i) => ({name: i.dataset.trait, type: i.type, min: Number(i.min), max: Number(i.max),
                step: Number(i.step), value: Number(i.value), gate: i.dataset.enabledBy || null}))"""


def page(folder: Path) -> Path:
    """An HTML page with the five live widgets, their state embedded, for file://."""
    from ipywidgets.embed import embed_data

    vendor = ROOT / "book" / "_vendor"
    if not (vendor / "html-manager" / "embed-amd.js").exists():
        raise SystemExit("web assets not installed: run `make assets` first")
    data = embed_data(views=[factory() for factory in LIVE], drop_defaults=False)
    views = "\n".join(
        f'<div><script type="application/vnd.jupyter.widget-view+json">{json.dumps(v)}</script></div>'
        for v in data["view_specs"]
    )
    scripts = "".join(
        f'<script src="{(vendor / p).as_uri()}"></script>'
        for p in ("requirejs/require.js", "anywidget/config.js", "html-manager/embed-amd.js")
    )
    path = folder / "widgets.html"
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8">{scripts}</head><body style="max-width:1100px">'
        f'<script type="application/vnd.jupyter.widget-state+json">{json.dumps(data["manager_state"])}</script>'
        f"{views}</body></html>",
        encoding="utf-8",
    )
    return path


def browser(moves: int) -> None:
    from playwright.sync_api import sync_playwright

    chromium = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    if chromium is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    folder = Path(tempfile.mkdtemp())
    url = page(folder).as_uri()
    print(f"\nBrowser (live widgets, headless Chromium, file://; {load()})")
    print(
        f"{'widget':20} {'control':12} {'n':>4} {'median ms':>10} {'p95 ms':>8} {'cpu median':>11} {'cpu p95':>8}"
    )
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--allow-file-access-from-files"]
        )
        pg = b.new_page(viewport={"width": 1100, "height": 1000})
        pg.goto(url)
        pg.wait_for_function(
            f"document.querySelectorAll('.dlc-live[data-draws]').length >= {len(LIVE)}", timeout=120000
        )
        pg.wait_for_timeout(1000)  # the race's idle precomputation
        cdp = pg.context.new_cdp_session(pg)
        cdp.send("Performance.enable")

        def thread_ms() -> float:  # CPU time of the page's main thread (Chromium's ThreadTime)
            metrics = cdp.send("Performance.getMetrics")["metrics"]
            return 1e3 * next(m["value"] for m in metrics if m["name"] == "ThreadTime")

        for index in range(len(LIVE)):
            kind = pg.evaluate(f"document.querySelectorAll('.dlc-live')[{index}].dataset.widget")
            for c in pg.evaluate(CONTROLS, index):
                if c["gate"]:  # give the control the setting it acts with
                    gate = json.loads(c["gate"])
                    pg.evaluate(MOVE, [index, gate["name"], gate["positions"][0]])
                if c["type"] == "checkbox":
                    targets = [None] * moves
                else:  # distinct positions there and back (a move to the same value redraws nothing)
                    grid = np.linspace(c["min"], c["max"], moves // 2)
                    grid = [round(c["min"] + round((g - c["min"]) / c["step"]) * c["step"], 10) for g in grid]
                    grid = list(dict.fromkeys(grid))
                    there = [g for g in grid if abs(g - c["value"]) > c["step"] / 2] + [c["value"]]
                    targets = (there + there[::-1][1:] + [c["value"]]) * max(1, moves // (2 * len(there)))
                times, cpu = [], []
                for t in targets:
                    c0 = thread_ms()
                    times.append(pg.evaluate(MOVE, [index, c["name"], t]))
                    cpu.append(thread_ms() - c0)  # the move, its frame and the evaluate call
                row(kind, c["name"], times, cpu)
        b.close()
    shutil.rmtree(folder, ignore_errors=True)
    print(load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=40)
    parser.add_argument("--only", choices=("jupyter", "browser"))
    args = parser.parse_args()
    if args.only != "browser":
        jupyter(args.moves)
    if args.only != "jupyter":
        browser(args.moves)


if __name__ == "__main__":
    main()
