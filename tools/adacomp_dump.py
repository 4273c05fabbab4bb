"""Write gradient dumps in the adacomp dump layout (format_spec/dump_layout.md) from PyTorch.

    DUMP/init.npz                     weights before step 0
    DUMP/step-SSSSS/learner-L.npz     learner L's gradient at step S, one array per parameter
    DUMP/final.npz                    weights after the last step
    DUMP/meta.json                    lr, momentum and anything else you want to record

Worked example: record 4 data-parallel learners of an SGD run, then replay it with adacomp.

    import torch
    from adacomp_dump import GradientDumper

    model = torch.nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    dumper = GradientDumper("my-dump", model, lr=0.05, momentum=0.9, learners=4)
    dumper.save_init()
    for step, batch in enumerate(loader):
        grads = []
        for learner, shard in enumerate(batch.chunk(4)):      # one shard per learner
            model.zero_grad()
            loss_fn(model(shard.x), shard.y).backward()
            dumper.save_learner(step, learner)                # after backward, before the update
            grads.append([p.grad.detach().clone() for p in model.parameters()])
        for p, *gs in zip(model.parameters(), *grads):        # the data-parallel average
            p.grad = torch.stack(gs).double().mean(0).float()
        opt.step()
    dumper.save_final()

    $ adacomp replay my-dump

Gradients are saved in their own dtype: float32 and float16 as NumPy arrays, bfloat16 as 2-byte
'V2' arrays holding the bfloat16 bits (as ml_dtypes saves them); NumPy's np.savez writes the file.
"""
import json
import os

import numpy as np
import torch


def _to_numpy(tensor):
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(np.dtype("V2"))
    if tensor.dtype not in (torch.float32, torch.float16):
        tensor = tensor.float()
    return tensor.numpy()


def _save_npz(path, arrays):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


class GradientDumper:
    """Writes one model's gradients and weights in the adacomp dump layout under `root`."""

    def __init__(self, root, model, **meta):
        self.root = root
        self.model = model
        self.meta = dict(meta)
        os.makedirs(root, exist_ok=True)

    def _parameters(self):
        return [(name, p) for name, p in self.model.named_parameters() if p.requires_grad]

    def save_init(self):
        _save_npz(os.path.join(self.root, "init.npz"), {n: _to_numpy(p.data.float()) for n, p in self._parameters()})

    def save_learner(self, step, learner, grads=None):
        """Save the current .grad of every parameter (or `grads`, a list in parameter order)."""
        params = self._parameters()
        if grads is None:
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for _, p in params]
        arrays = {name: _to_numpy(g) for (name, _), g in zip(params, grads)}
        _save_npz(os.path.join(self.root, "step-%05d" % step, "learner-%d.npz" % learner), arrays)

    def save_final(self, **extra_meta):
        _save_npz(os.path.join(self.root, "final.npz"), {n: _to_numpy(p.data.float()) for n, p in self._parameters()})
        self.meta.update(extra_meta)
        self.meta.setdefault("parameters", [{"name": n, "shape": list(p.shape), "numel": p.numel()}
                                            for n, p in self._parameters()])
        with open(os.path.join(self.root, "meta.json"), "w") as f:
            json.dump(self.meta, f, indent=1)
            f.write("\n")
