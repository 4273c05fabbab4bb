#!/usr/bin/python3
"""Closed-loop training under DDP: does the model still reach its accuracy when the gradient
exchange goes through AdaComp (adacomp.torch.hook), next to plain DDP and PyTorch's PowerSGD hook?

Each run trains on CPU with 4 processes (torch.multiprocessing.spawn, gloo on 127.0.0.1) and
records per epoch the held-out accuracy and loss, per step the bytes this rank sent and the wall
time split into compute / encode / exchange / decode. Models: a CNN and an LSTM (the image read
row by row) on scikit-learn's bundled digits (1,797 8x8 images; 360 held out).

    PYTHONPATH=build/python /usr/bin/python3 bench/closed_loop.py --out closed-loop.json [--png closed-loop.png]
    ... --models cnn --methods ddp,adacomp-coded --seeds 1 --epochs 5     (a quick look)
    ... --dump DIR --models cnn --methods adacomp-coded --seeds 1 --epochs 1   (record every rank's
        gradients with tools/adacomp_dump.py: `adacomp replay DIR` replays the run)

Methods: ddp (all-reduce), adacomp-fixed and adacomp-coded (the hook with fixed or coded entries;
--warmup-steps, --scale-factor, --bin-size as the hook's settings), powersgd (PyTorch's
powerSGD_hook, rank 1, error feedback and warm start, 2 iterations of all-reduce first, as its
minimum). Bytes: adacomp counts its streams; ddp the float32 buffers it all-reduces; powersgd its
P and Q factors and the vectors it all-reduces uncompressed (float32), as its own counters do.
Time: every hook here is timed synchronously (its future is waited for inside the hook), so the
split is exact; compute is the step's wall time without it. PowerSGD's factorisation is part of its
"exchange" time: its hook does both.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

HERE = os.path.dirname(os.path.abspath(__file__))
WORLD = 4
BATCH = 32  # per learner: a global batch of 128


def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(12345))
    x, y = x[order], y[order]
    return (x[360:], y[360:]), (x[:360], y[:360])


class Cnn(torch.nn.Sequential):
    def __init__(self):
        super().__init__(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                         torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                         torch.nn.Flatten(), torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


class Lstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(8, 64, batch_first=True)
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x):
        out, _ = self.lstm(x.squeeze(1))  # rows of the image as the sequence
        return self.fc(out[:, -1])


MODELS = {"cnn": (Cnn, 0.05), "lstm": (Lstm, 0.2)}  # model, learning rate (SGD, momentum 0.9)


def timed_hook(method, inner, times, counters, own=None, names=None):
    """The method's hook run synchronously, its time and bytes counted (and, for --dump, this
    rank's own gradients kept before the exchange)."""

    def hook(state, bucket):
        if own is not None:
            for p, g in zip(bucket.parameters(), bucket.gradients()):
                own[names[id(p)]] = g.detach().clone()
        start = time.perf_counter()
        before = getattr(state, "total_numel_after_compression", 0)
        warmup = method == "powersgd" and state.iter < state.start_powerSGD_iter
        result = inner(state, bucket).wait()
        spent = time.perf_counter() - start
        raw = bucket.buffer().numel() * 4
        counters["raw"] += raw
        if method == "ddp" or warmup:
            counters["sent"] += raw
        elif method == "powersgd":
            vectors = sum(g.numel() for g in bucket.gradients() if g.dim() <= 1)
            counters["sent"] += 4 * (state.total_numel_after_compression - before + vectors)
        times["hook"] += spent
        if not method.startswith("adacomp"):
            times["exchange"] += spent
        future = torch.futures.Future()
        future.set_result(result if isinstance(result, torch.Tensor) else result[0])
        return future

    return hook


def make_hook(method, model, args):
    if method == "ddp":
        from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

        return None, allreduce_hook
    if method == "powersgd":
        from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as P

        return P.PowerSGDState(process_group=None, matrix_approximation_rank=1, start_powerSGD_iter=2,
                               random_seed=0), P.powerSGD_hook
    import adacomp.torch

    settings = {"entries": method.split("-")[1], "scale_factor": args.scale_factor}
    if args.bin_size:
        settings["bin_size"] = args.bin_size
    return adacomp.torch.AdaCompState(model=model, warmup_steps=args.warmup_steps, **settings), adacomp.torch.hook


def evaluate(model, data):
    model.eval()
    with torch.no_grad():
        logits = model(data[0])
        loss = float(torch.nn.functional.cross_entropy(logits, data[1]))
        accuracy = float((logits.argmax(1) == data[1]).float().mean())
    model.train()
    return accuracy, loss


def train(rank, args, model_name, method, seed, port, out_file):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=WORLD)
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    make, lr = MODELS[model_name]
    model = make()
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    state, inner = make_hook(method, ddp, args)
    times = {"hook": 0.0, "exchange": 0.0}
    counters = {"sent": 0, "raw": 0}
    dumper, own = None, None
    if args.dump:
        sys.path.insert(0, os.path.join(HERE, "..", "tools"))
        from adacomp_dump import GradientDumper

        dumper = GradientDumper(args.dump, model, lr=lr, momentum=0.9, learners=WORLD, model_name=model_name,
                                method=method, seed=seed)
        if rank == 0:
            dumper.save_init()
        own = {}
    names = {id(p): n for n, p in model.named_parameters()}
    ddp.register_comm_hook(state, timed_hook(method, inner, times, counters, own, names))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    train_set, test_set = digits()
    epochs = []
    step_walls, step = [], 0
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_set[1]), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        per_step = BATCH * WORLD
        for begin in range(0, len(order) - per_step + 1, per_step):
            mine = order[begin + rank * BATCH: begin + (rank + 1) * BATCH]
            start = time.perf_counter()
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(ddp(train_set[0][mine]), train_set[1][mine])
            loss.backward()
            if dumper:
                dumper.save_learner(step, rank, [own[n] for n, _ in model.named_parameters()])
            optimizer.step()
            step_walls.append(time.perf_counter() - start)
            step += 1
        accuracy, test_loss = evaluate(model, test_set)
        epochs.append({"epoch": epoch + 1, "accuracy": accuracy, "loss": test_loss})
    if dumper and rank == 0:
        dumper.save_final()
    result = {"model": model_name, "method": method, "seed": seed, "rank": rank, "steps": step, "epochs": epochs,
              "bytes_sent": counters["sent"], "bytes_raw": counters["raw"], "wall": sum(step_walls),
              "hook": times["hook"], "exchange": times["exchange"]}
    if method.startswith("adacomp"):
        result.update(encode=state.times["encode"], exchange=state.times["exchange"], decode=state.times["decode"],
                      bytes_sent=state.bytes_sent, bytes_raw=state.bytes_raw)
    gathered = [None] * WORLD
    dist.all_gather_object(gathered, result)
    if rank == 0:
        with open(out_file, "w") as f:
            json.dump(gathered, f)
    del ddp
    dist.barrier()
    dist.destroy_process_group()


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, model_name, method, seed):
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "ranks.json")
        start = time.perf_counter()
        mp.spawn(train, args=(args, model_name, method, seed, free_port(), out_file), nprocs=WORLD, join=True)
        with open(out_file) as f:
            ranks = json.load(f)
    r0 = ranks[0]
    steps = r0["steps"]
    compute = [r["wall"] - r["hook"] for r in ranks]
    summary = {"model": model_name, "method": method, "seed": seed, "steps": steps, "epochs": r0["epochs"],
               "final_accuracy": r0["epochs"][-1]["accuracy"], "final_loss": r0["epochs"][-1]["loss"],
               "bytes_per_step": statistics.mean(r["bytes_sent"] for r in ranks) / steps,
               "raw_bytes_per_step": r0["bytes_raw"] / steps,
               "ratio": r0["bytes_raw"] * len(ranks) / sum(r["bytes_sent"] for r in ranks),
               "ms_per_step": {"wall": 1e3 * statistics.mean(r["wall"] for r in ranks) / steps,
                               "compute": 1e3 * statistics.mean(compute) / steps,
                               "encode": 1e3 * statistics.mean(r.get("encode", 0.0) for r in ranks) / steps,
                               "exchange": 1e3 * statistics.mean(r["exchange"] for r in ranks) / steps,
                               "decode": 1e3 * statistics.mean(r.get("decode", 0.0) for r in ranks) / steps},
               "run_seconds": time.perf_counter() - start}
    return summary


def table(runs, methods):
    lines = ["| model | method | accuracy %% (mean ± sd, %d seeds) | vs ddp (pp) | loss | ratio | bytes/step | "
             "ms/step: compute / encode / exchange / decode |" % len({r["seed"] for r in runs}),
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for model in dict.fromkeys(r["model"] for r in runs):
        base = [100 * r["final_accuracy"] for r in runs if r["model"] == model and r["method"] == "ddp"]
        for method in methods:
            mine = [r for r in runs if r["model"] == model and r["method"] == method]
            if not mine:
                continue
            acc = [100 * r["final_accuracy"] for r in mine]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            gap = "%+.2f" % (statistics.mean(acc) - statistics.mean(base)) if base else "-"
            t = {k: statistics.mean(r["ms_per_step"][k] for r in mine) for k in mine[0]["ms_per_step"]}
            lines.append("| %s | %s | %.2f ± %.2f | %s | %.4f | %.1fx | %.0f | %.2f / %.2f / %.2f / %.2f |" % (
                model, method, statistics.mean(acc), sd, gap, statistics.mean(r["final_loss"] for r in mine),
                statistics.mean(r["ratio"] for r in mine), statistics.mean(r["bytes_per_step"] for r in mine),
                t["compute"], t["encode"], t["exchange"], t["decode"]))
    return "\n".join(lines)


def plot(runs, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("skipped: the plot needs matplotlib (Debian: python3-matplotlib)")
        return
    models = list(dict.fromkeys(r["model"] for r in runs))
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        for method in dict.fromkeys(r["method"] for r in runs if r["model"] == model):
            mine = [r for r in runs if r["model"] == model and r["method"] == method]
            curve = np.mean([[100 * e["accuracy"] for e in r["epochs"]] for r in mine], axis=0)
            # fixed and coded entries carry the same selection: the same curve, told apart by its dash
            ax.plot(range(1, len(curve) + 1), curve, label=method, linestyle="--" if method == "adacomp-fixed" else "-",
                    linewidth=2.5 if method == "adacomp-fixed" else 1.5)
        ax.set_title("%s on digits: held-out accuracy (mean of seeds)" % model)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy %")
        ax.set_ylim(50, 100)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="cnn,lstm")
    parser.add_argument("--methods", default="ddp,adacomp-fixed,adacomp-coded,powersgd")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--warmup-steps", type=int, default=0, help="adacomp: uncompressed steps first")
    parser.add_argument("--scale-factor", type=float, default=2.0, help="adacomp's scale factor")
    parser.add_argument("--bin-size", action="append", help="adacomp: N or GLOB=N (repeatable)")
    parser.add_argument("--out", help="write every run's figures as JSON")
    parser.add_argument("--png", help="plot accuracy over epochs per method")
    parser.add_argument("--dump", help="record the (single) run's gradients as a dump for `adacomp replay`")
    args = parser.parse_args()
    models, methods = args.models.split(","), args.methods.split(",")
    for m in models + methods:
        if m not in MODELS and m not in ("ddp", "adacomp-fixed", "adacomp-coded", "powersgd"):
            parser.error("unknown model or method '%s'" % m)
    if args.dump and len(models) * len(methods) * args.seeds != 1:
        parser.error("--dump records one run: give one model, one method and --seeds 1")
    runs = []
    for model in models:
        for method in methods:
            for seed in range(args.seeds):
                summary = run(args, model, method, seed)
                runs.append(summary)
                print("%-5s %-14s seed %d: accuracy %.2f%%, ratio %.1fx, %.2f ms/step (%.0f s)" % (
                    model, method, seed, 100 * summary["final_accuracy"], summary["ratio"],
                    summary["ms_per_step"]["wall"], summary["run_seconds"]), flush=True)
    print(table(runs, methods))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"settings": {k: v for k, v in vars(args).items()}, "world_size": WORLD,
                       "batch_per_learner": BATCH, "runs": runs}, f, indent=1)
    if args.png:
        plot(runs, args.png)


if __name__ == "__main__":
    main()
