#!/usr/bin/env python3
"""Makes samples/digits-cnn-tiny: a small real gradient dump shipped with the repository.

A tiny CNN trained on scikit-learn's bundled digits (8x8 images), data-parallel over 2 learners,
recorded with tools/adacomp_dump.py. Same recipe as ../shared/data/gradients (pretrain on the full
batch, save init.npz, reset momentum, then save every learner's gradient), at a size that keeps
the repository small. Deterministic: rerunning gives the same values.

Needs Debian's python3-torch, python3-sklearn and python3-numpy:
    /usr/bin/python3 tools/make_sample_dump.py samples/digits-cnn-tiny
"""
import os
import sys

import numpy as np
import torch
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adacomp_dump import GradientDumper  # noqa: E402

LEARNERS, PER_LEARNER_BATCH, PRETRAIN_STEPS, STEPS = 2, 16, 30, 6
LR, MOMENTUM, SEED = 0.05, 0.9, 3


class TinyCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.fc1 = torch.nn.Linear(8 * 4 * 4, 32)
        self.fc2 = torch.nn.Linear(32, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def main(root):
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target, dtype=torch.long)
    model = TinyCnn()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    batch = LEARNERS * PER_LEARNER_BATCH
    order = torch.randperm(len(x))

    def batch_at(i):
        idx = order[(i * batch) % (len(x) - batch):][:batch]
        return x[idx], y[idx]

    for i in range(PRETRAIN_STEPS):
        bx, by = batch_at(i)
        opt.zero_grad()
        loss_fn(model(bx), by).backward()
        opt.step()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)  # momentum reset

    dumper = GradientDumper(root, model, name="digits-cnn-tiny", lr=LR, momentum=MOMENTUM, learners=LEARNERS,
                            steps=STEPS, per_learner_batch=PER_LEARNER_BATCH, seed=SEED,
                            pretrain_steps=PRETRAIN_STEPS, gradient_dtype="float32",
                            update_rule="a = mean over learners of the saved gradients (summed in float64, "
                                        "rounded once to float32); v = momentum*v + a; w = w - lr*v",
                            description="conv(1->8,3x3,pad1)+ReLU, maxpool2, fc(128->32)+ReLU, fc(32->10); "
                                        "sklearn digits; made by tools/make_sample_dump.py")
    dumper.save_init()
    for step in range(STEPS):
        bx, by = batch_at(PRETRAIN_STEPS + step)
        grads = []
        for learner in range(LEARNERS):
            shard = slice(learner * PER_LEARNER_BATCH, (learner + 1) * PER_LEARNER_BATCH)
            model.zero_grad()
            loss_fn(model(bx[shard]), by[shard]).backward()
            dumper.save_learner(step, learner)
            grads.append([p.grad.detach().clone() for p in model.parameters()])
        for p, *gs in zip(model.parameters(), *grads):
            p.grad = torch.stack(gs).double().sum(0).div(LEARNERS).float()
        opt.step()
    dumper.save_final()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "samples/digits-cnn-tiny")
