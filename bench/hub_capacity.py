"""Benchmark: what one student costs on the hub, and how fast one core grades (book/jupyterhub.md).

Measures, on this machine:

1. the hub's fixed cost: memory of the hub, the proxy and ngshare of the demonstration hub;
2. one student's server: memory of an idle ``jupyterhub-singleuser`` (JupyterLab with the
   nbgrader extensions, the course environment) started by that hub;
3. one student's kernel: the peak memory of the kernel while it runs a notebook top to bottom
   (ps1 with the instructor's answers, and each chapter), sampled every 0.1 s;
4. grading throughput per core: ``python -m dlcourse.grading autograde --jobs 1`` (sandbox and
   review on, as ``make autograde``) on N solved copies of ps1, in seconds per submission.

Memory is the unique set size (USS: what the process tree alone holds; shared libraries are
counted once per machine, not per student) and the resident set size (RSS) beside it.

    python bench/hub_capacity.py [--n 6] [--chapters 01 02 ...] [--skip-hub]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "grading_fixtures"))
import submissions as S  # noqa: E402

MiB = 2**20


def tree_memory(proc: psutil.Process, children: bool = True) -> tuple[float, float]:
    """USS and RSS in MiB of ``proc`` and (with ``children``) its descendants."""
    uss = rss = 0
    for p in [proc, *(proc.children(recursive=True) if children else [])]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        uss, rss = uss + info.uss, rss + info.rss
    return uss / MiB, rss / MiB


def hub_memory() -> None:
    spec = importlib.util.spec_from_file_location("demo", ROOT / "hub" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    with tempfile.TemporaryDirectory() as tmp, demo.DemoHub(Path(tmp) / "state") as hub:
        token = hub.token("student1", "capacity benchmark")
        req = urllib.request.Request(
            f"{hub.url}/hub/api/users/student1/server",
            method="POST",
            headers={"Authorization": f"token {token}"},
        )
        urllib.request.urlopen(req, timeout=60).close()
        home = str(hub.state / "home" / "student1")
        server = None
        for _ in range(240):
            server = next(
                (
                    p
                    for p in psutil.process_iter(["cmdline", "cwd"])
                    if p.info["cwd"] == home
                    and any("jupyterhub-singleuser" in a for a in p.info["cmdline"] or [])
                ),
                None,
            )
            if server is not None:
                break
            time.sleep(0.5)
        time.sleep(20)  # let it finish starting and settle
        ngshare = next(
            p
            for p in psutil.process_iter(["cmdline"])
            if "ngshare_service.py" in " ".join(p.info["cmdline"] or [])
        )
        proxy = psutil.Process(int((hub.state / "proxy.pid").read_text()))
        fixed = [
            tree_memory(psutil.Process(hub.proc.pid), children=False),
            tree_memory(ngshare),
            tree_memory(proxy),
        ]
        print(
            f"hub + proxy + ngshare: USS {sum(u for u, _ in fixed):6.0f} MiB, RSS {sum(r for _, r in fixed):6.0f} MiB"
        )
        uss, rss = tree_memory(server)
        print(
            f"one student's idle server (jupyterhub-singleuser, JupyterLab): USS {uss:6.0f} MiB, RSS {rss:6.0f} MiB"
        )


def kernel_peak(nb: dict, cwd: Path) -> tuple[float, float, float]:
    """Run ``nb`` in a fresh kernel; peak USS and RSS (MiB) of the kernel's tree, and seconds."""
    client = NotebookClient(
        nbformat.reads(json.dumps(nb), as_version=4),
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    peak = [0.0, 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            km = client.km
            pid = getattr(getattr(km, "provisioner", None), "pid", None) if km else None
            if pid:
                try:
                    uss, rss = tree_memory(psutil.Process(pid))
                    peak[0], peak[1] = max(peak[0], uss), max(peak[1], rss)
                except psutil.Error:
                    pass
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        done.set()
        thread.join()
    return peak[0], peak[1], time.perf_counter() - start


def kernels(chapters: list[str]) -> None:
    source = S.load(ROOT / "assignments" / "source" / "ps1_backprop" / "ps1_backprop.ipynb")
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "assignments"
        course.mkdir()
        shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "assignments" / "source", course / "source")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dlcourse.grading",
                "--course",
                str(course),
                "release",
                "--assignment",
                "ps1",
                "--downloads",
                str(Path(tmp) / "dl"),
            ],
            check=True,
            capture_output=True,
        )
        released = S.load(course / "release" / "ps1_backprop" / "ps1_backprop.ipynb")
        uss, rss, sec = kernel_peak(S.solved(released, source), Path(tmp))
        print(
            f"kernel, ps1 answered, top to bottom: peak USS {uss:6.0f} MiB, RSS {rss:6.0f} MiB, {sec:5.1f} s"
        )
    for stem in sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        if stem[:2] in chapters:
            nb = json.loads((ROOT / "chapters" / f"{stem}.ipynb").read_text(encoding="utf-8"))
            uss, rss, sec = kernel_peak(nb, ROOT / "chapters")
            print(f"kernel, chapter {stem}: peak USS {uss:6.0f} MiB, RSS {rss:6.0f} MiB, {sec:5.1f} s")


def grading(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "assignments"
        course.mkdir()
        shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "assignments" / "source", course / "source")
        cli = [sys.executable, "-m", "dlcourse.grading", "--course", str(course)]
        subprocess.run(
            [*cli, "release", "--assignment", "ps1", "--downloads", str(Path(tmp) / "dl")],
            check=True,
            capture_output=True,
        )
        source = S.load(course / "source" / "ps1_backprop" / "ps1_backprop.ipynb")
        released = S.load(course / "release" / "ps1_backprop" / "ps1_backprop.ipynb")
        for i in range(n):
            S.write_submission(course, f"s{i:03d}", "ps1_backprop", S.solved(released, source))
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*cli, "autograde", "--assignment", "ps1", "--jobs", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        peak = 0.0
        while proc.poll() is None:  # the whole tree: nbgrader, the sandboxed kernel, the re-check
            try:
                peak = max(peak, tree_memory(psutil.Process(proc.pid))[1])
            except psutil.Error:
                pass
            time.sleep(0.2)
        out = proc.stdout.read()
        wall = time.perf_counter() - start
        notice = next((line for line in out.splitlines() if line.startswith("sandbox:")), "?")
        assert proc.returncode == 0, out[-3000:]
        print(
            f"grading, one core (--jobs 1), {n} solved ps1: {wall:6.1f} s = {wall / n:5.1f} s per submission, "
            f"{3600 * n / wall:5.0f} submissions per hour per core; peak RSS of the grading tree "
            f"{peak:5.0f} MiB; {notice[:40]}..."
        )
        subprocess.run(
            [*cli, "feedback", "--assignment", "ps1", "--allow-pending"], check=True, capture_output=True
        )
        sub = course / "submitted" / "s000" / "ps1_backprop" / "ps1_backprop.ipynb"
        page = course / "feedback" / "s000" / "ps1_backprop" / "ps1_backprop.html"
        print(
            f"sizes: a submission {sub.stat().st_size / 1024:5.0f} KiB, its feedback page "
            f"{page.stat().st_size / 1024:5.0f} KiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=6, help="submissions graded for the throughput")
    parser.add_argument("--chapters", nargs="*", default=["01", "02", "03", "04", "05", "06"])
    parser.add_argument("--skip-hub", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; load {os.getloadavg()}")
    if not args.skip_hub:
        hub_memory()
    kernels(args.chapters)
    grading(args.n)


if __name__ == "__main__":
    main()
