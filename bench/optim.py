"""Step time of dlcourse.optim against torch.optim, on a ~1M-parameter MLP.

For each optimizer, times ``opt.step()`` alone (gradients are set once, so the backward pass does
not blur the comparison) for three optimizers on identical parameters: dlcourse's, torch's
single-tensor path (``foreach=False``) and torch's default (``foreach`` on CUDA, the for-loop on
the CPU). Runs are interleaved round-robin so that load from other processes hits all three alike;
the table shows medians and the ratios dlcourse / torch. Goal: within 1.5x of the single-tensor
path.

    python bench/optim.py                 # CPU, plus CUDA when available
    python bench/optim.py --device cpu --repeats 100 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dlcourse import optim as dl

SETTINGS = {  # one representative configuration each (the heavier option where there is one)
    "SGD": {"lr": 0.01, "momentum": 0.9},
    "Adagrad": {"lr": 0.01},
    "RMSprop": {"lr": 0.01},
    "Adadelta": {"lr": 1.0},
    "Adam": {"lr": 1e-3},
    "AdamW": {"lr": 1e-3},
}
SIZES = (512, 1024, 512, 10)  # 512*1024 + 1024 + 1024*512 + 512 + 512*10 + 10 = 1,055,242


def make_params(device: torch.device, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        for shape in ((n_out, n_in), (n_out,)):
            p = (torch.randn(shape, generator=g) / n_in**0.5).to(device).requires_grad_()
            p.grad = torch.randn(shape, generator=g).mul_(1e-2).to(device)
            params.append(p)
    return params


def timed_step(opt: torch.optim.Optimizer, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def bench(name: str, device: torch.device, repeats: int, warmup: int) -> dict[str, float]:
    kwargs = SETTINGS[name]
    opts = {
        "dlcourse": getattr(dl, name)(make_params(device), **kwargs),
        "torch single": getattr(torch.optim, name)(make_params(device), foreach=False, **kwargs),
        "torch default": getattr(torch.optim, name)(make_params(device), **kwargs),
    }
    times: dict[str, list[float]] = {key: [] for key in opts}
    for i in range(warmup + repeats):
        for key, opt in opts.items():
            t = timed_step(opt, device)
            if i >= warmup:
                times[key].append(t)
    return {key: statistics.median(ts) for key, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", action="append", help="cpu, cuda, ... (repeatable)")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--only", action="append", choices=list(SETTINGS), help="repeatable")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    n_params = sum(p.numel() for p in make_params(torch.device("cpu")))
    print(
        f"torch {torch.__version__}, {n_params:,} parameters, {torch.get_num_threads()} threads, "
        f"median of {args.repeats} steps after {args.warmup} warm-up, interleaved"
    )
    for device in map(torch.device, devices):
        name_of = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        print(f"\n{device} ({name_of})")
        print(
            f"{'optimizer':<10}{'dlcourse ms':>13}{'single ms':>11}{'default ms':>12}"
            f"{'/single':>9}{'/default':>10}"
        )
        for name in args.only or SETTINGS:
            t = bench(name, device, args.repeats, args.warmup)
            ours, single, default = (1e3 * t[k] for k in ("dlcourse", "torch single", "torch default"))
            print(
                f"{name:<10}{ours:>13.3f}{single:>11.3f}{default:>12.3f}"
                f"{ours / single:>9.2f}{ours / default:>10.2f}"
            )


if __name__ == "__main__":
    main()
