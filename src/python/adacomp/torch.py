"""adacomp.torch: AdaComp as a PyTorch DDP communication hook.

    import adacomp.torch
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    state = adacomp.torch.AdaCompState(model=ddp, warmup_steps=10, scale_factor=2.0)
    ddp.register_comm_hook(state, adacomp.torch.hook)

Each rank encodes its bucket's gradients with its own residues (keyed by parameter name, so DDP's
bucket rebuild after the first iteration changes nothing), the ranks all-gather the streams (sizes
first, then the payloads padded to the largest: gloo cannot gather tensors of different sizes),
and every rank decodes all of them and averages in rank order, in binary64 as `adacomp replay`
does: the gradients are bit-identical on every rank and equal replay's. Warm-up iterations
(`warmup_steps`, as PowerSGD's start_powerSGD_iter) go through a plain all-reduce.
"""
import os
import time

import numpy as np
import torch
import torch.distributed as dist

import adacomp

__all__ = ["AdaCompState", "hook"]


class AdaCompState:
    """The hook's state: process group, settings, residues, step and counters.

    model: the DDP module (or the module it wraps), whose parameter names key the residues.
    warmup_steps: the first iterations go uncompressed through all-reduce.
    agreed_layout: (coded entries) every rank derives the same layout record from a bucket's tensors (DDP buckets
    are the same on every rank), so each stream carries only the layout's hash and its frames no
    names or shapes (format_spec/wire_format.md, layout records). False: self-describing streams.
    save_streams: a directory; each rank's stream of bucket B at step S goes to
    DIR/step-SSSSS/learner-R-bucket-B.adc, and with agreed_layout the layouts they refer to to
    DIR/layout-HASH.adc (`adacomp inspect --layout DIR/layout-HASH.adc FILE`).
    settings: the Encoder's keyword arguments (bin_size, scale_factor, entries, zstd, exclude, threads).
    """

    def __init__(self, process_group=None, warmup_steps=0, model=None, agreed_layout=True, save_streams=None,
                 **settings):
        self.process_group = process_group
        self.warmup_steps = int(warmup_steps)
        self.settings = dict(settings)
        self.encoder = adacomp.Encoder(**settings)
        # fixed entries are format 1.0, which has no layout records
        self.agreed_layout = bool(agreed_layout) and self.encoder.entries == "coded"
        self.save_streams = save_streams
        self._layouts = {}  # bucket's parameter names -> layout file bytes
        self.step = 0  # iterations completed (counted at each iteration's last bucket)
        self.bytes_sent = 0  # this rank's payload bytes so far (warm-up: the float32 bytes all-reduced)
        self.bytes_raw = 0  # the float32 bytes they stand for
        self.times = {"encode": 0.0, "exchange": 0.0, "decode": 0.0}  # seconds, this rank
        self._names = None
        if model is not None:
            self.attach(model)

    def attach(self, model):
        """Key residues by `model`'s parameter names (a DDP module's inner module names)."""
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        self._names = {id(p): name for name, p in model.named_parameters()}

    def state_dict(self):
        """Residues (torch tensors), step and counters: what a checkpoint needs to resume exactly."""
        residues = {n: torch.from_numpy(a) for n, a in self.encoder.state_dict()["residues"].items()}
        return {"step": self.step, "bytes_sent": self.bytes_sent, "bytes_raw": self.bytes_raw, "residues": residues}

    def load_state_dict(self, state):
        self.encoder.load_state_dict({"residues": {n: t.detach().cpu().contiguous().numpy()
                                                   for n, t in state["residues"].items()}})
        self.step = int(state["step"])
        self.bytes_sent = int(state.get("bytes_sent", 0))
        self.bytes_raw = int(state.get("bytes_raw", 0))

    def _parameter_names(self, bucket):
        if self._names is None:
            raise adacomp._usage_error("AdaCompState needs model= (or attach(model)): residues are keyed by "
                                       "parameter name")
        try:
            return [self._names[id(p)] for p in bucket.parameters()]
        except KeyError:
            raise adacomp._usage_error("a parameter of DDP bucket %d is not in the model given to AdaCompState"
                                       % bucket.index()) from None

    def _layout(self, names, tensors):
        if not self.agreed_layout:
            return None
        key = tuple(names)
        if key not in self._layouts:
            self._layouts[key] = self.encoder.layout(tensors)
        return self._layouts[key]

    def _save(self, rank, bucket_index, data, layout):
        os.makedirs(self.save_streams, exist_ok=True)
        if layout is not None:
            path = os.path.join(self.save_streams, "layout-%016x.adc" % adacomp.layout_hash(layout))
            if not os.path.exists(path):
                _write_new(path, layout, may_exist=True)
        directory = os.path.join(self.save_streams, "step-%05d" % self.step)
        os.makedirs(directory, exist_ok=True)
        _write_new(os.path.join(directory, "learner-%d-bucket-%d.adc" % (rank, bucket_index)), data)


def _write_new(path, data, may_exist=False):
    """Write a new file atomically, never over one of the user's (a layout file written by another
    rank is the same bytes: may_exist)."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "xb") as f:
        f.write(data)
    if may_exist:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # fails if path exists
        finally:
            os.unlink(tmp)


def _all_gather_bytes(data, group, world):
    sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(sizes, torch.tensor([len(data)], dtype=torch.int64), group=group)
    sizes = [int(s.item()) for s in sizes]
    padded = torch.zeros(max(sizes), dtype=torch.uint8)
    padded[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    gathered = [torch.empty(max(sizes), dtype=torch.uint8) for _ in range(world)]
    dist.all_gather(gathered, padded, group=group)
    return [g[:n].numpy() for g, n in zip(gathered, sizes)]


def hook(state, bucket):
    """DDP communication hook: AdaComp-compressed exchange of one bucket (see the module's doc)."""
    group = state.process_group if state.process_group is not None else dist.group.WORLD
    world = dist.get_world_size(group)
    buffer = bucket.buffer()
    raw_bytes = buffer.numel() * 4
    last = bucket.is_last()
    if state.step < state.warmup_steps:
        state.bytes_sent += raw_bytes
        state.bytes_raw += raw_bytes
        if last:
            state.step += 1
        buffer.div_(world)  # as PyTorch's allreduce_hook: DDP's buffers arrive un-averaged
        return dist.all_reduce(buffer, group=group, async_op=True).get_future().then(lambda f: f.value()[0])

    names = state._parameter_names(bucket)
    gradients = bucket.gradients()
    start = time.perf_counter()
    tensors = dict(zip(names, gradients))
    layout = state._layout(names, tensors)
    data = state.encoder.encode(tensors, layout=layout)
    encoded = time.perf_counter()
    streams = _all_gather_bytes(data, group, world)
    exchanged = time.perf_counter()
    if buffer.dtype == torch.float32:
        adacomp.average(streams, {n: g.numpy() for n, g in zip(names, gradients)}, layout=layout)
    else:
        means = {n: np.empty(tuple(g.shape), dtype=np.float32) for n, g in zip(names, gradients)}
        adacomp.average(streams, means, layout=layout)
        for n, g in zip(names, gradients):
            g.copy_(torch.from_numpy(means[n]))
    decoded = time.perf_counter()
    state.times["encode"] += encoded - start
    state.times["exchange"] += exchanged - encoded
    state.times["decode"] += decoded - exchanged
    state.bytes_sent += len(data)
    state.bytes_raw += raw_bytes
    if state.save_streams:
        state._save(dist.get_rank(group), bucket.index(), data, layout)
    if last:
        state.step += 1
    future = torch.futures.Future()
    future.set_result(buffer)
    return future
