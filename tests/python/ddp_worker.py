"""Processes of the hook tests: a small CNN trained under DDP with adacomp.torch.hook for a few
steps on fixed data, each rank writing what the tests compare (gradients, weights, state).

usage: ddp_worker.py OUT_DIR WORLD MODE PORT STEPS
MODE: dump (torch.optim.SGD) or dump_unfused (an update rounded as replay rounds it), both writing
the gradient dump OUT_DIR/MODE; warmup (2 warm-up steps); checkpoint (saves the state halfway);
resume (starts from that state).
"""
import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import adacomp.torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from adacomp_dump import GradientDumper  # noqa: E402


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(6 * 6 * 6, 32),
        torch.nn.ReLU(), torch.nn.Linear(32, 10))


def batch(step, rank, size=16):
    g = torch.Generator().manual_seed(1000 * step + rank)
    return torch.randn(size, 1, 8, 8, generator=g), torch.randint(0, 10, (size,), generator=g)


def run(rank, world, out, mode, port, steps):
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = make_model()
    # several buckets after DDP's rebuild (its first bucket is otherwise capped at 1 MiB, not the cap)
    dist._DEFAULT_FIRST_BUCKET_BYTES = 4096
    ddp = torch.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.004)
    warmup = 2 if mode == "warmup" else 0
    streams = os.path.join(out, mode + "-streams") if mode.startswith("dump") else None
    state = adacomp.torch.AdaCompState(model=ddp, warmup_steps=warmup, save_streams=streams, scale_factor=2.0)
    if mode == "resume":
        state.load_state_dict(torch.load(os.path.join(out, "state-%d.pt" % rank)))
        model.load_state_dict(torch.load(os.path.join(out, "model.pt")))
    local, buckets = {}, []
    names = {id(p): n for n, p in model.named_parameters()}
    if mode.startswith("dump"):
        dumper = GradientDumper(os.path.join(out, mode), model, lr=0.1, momentum=0.0, learners=world)
        if rank == 0:
            dumper.save_init()

    def recording_hook(state, bucket):  # this rank's own gradients and the bucket, before the exchange
        if bucket.index() == 0:
            buckets.append([])
        buckets[-1].append([names[id(p)] for p in bucket.parameters()])
        for p, g in zip(bucket.parameters(), bucket.gradients()):
            local[names[id(p)]] = g.detach().clone()
        return adacomp.torch.hook(state, bucket)

    ddp.register_comm_hook(state, recording_hook)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    begin = state.step
    grads, locals_ = [], []
    for step in range(begin, begin + steps):
        x, y = batch(step, rank)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ddp(x), y).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        locals_.append(dict(local))
        if mode.startswith("dump"):
            dumper.save_learner(step, rank, [local[n] for n, _ in model.named_parameters()])
        if mode == "dump_unfused":  # w + (-lr) * g rounded twice, as replay's SGD does
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(p.grad * -0.1)
        else:
            opt.step()
        if mode == "checkpoint" and step == begin + steps // 2 - 1:
            torch.save(state.state_dict(), os.path.join(out, "state-%d.pt" % rank))
            if rank == 0:
                torch.save(model.state_dict(), os.path.join(out, "model.pt"))
            dist.barrier()
    torch.save({"grads": grads, "local": locals_, "buckets": buckets, "weights": model.state_dict(),
                "step": state.step, "bytes_sent": state.bytes_sent, "bytes_raw": state.bytes_raw,
                "residue_names": state.encoder.residue_names()}, os.path.join(out, "%s-%d.pt" % (mode, rank)))
    if mode.startswith("dump") and rank == 0:
        dumper.save_final()
    del ddp  # the reducer (and its hook) before the process group: the other order can hang at exit
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    out, world, mode, port, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    mp.spawn(run, args=(world, out, mode, port, steps), nprocs=world, join=True)
