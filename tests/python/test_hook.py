"""adacomp.torch.hook under DDP with gloo on 2 and 4 processes (tests/python/ddp_worker.py): the
same gradients on every rank, residues keyed by name across DDP's bucket rebuild, warm-up,
checkpoint and resume, and `adacomp replay` of the run's gradient dump reproducing its weights."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import adacomp  # noqa: E402
import adacomp.torch  # noqa: E402

from conftest import free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 6


def train(out, world, mode, steps=STEPS):
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo")
    subprocess.run([sys.executable, os.path.join(HERE, "ddp_worker.py"), str(out), str(world), mode,
                    str(free_port()), str(steps)], check=True, timeout=240, env=env)
    return [torch.load(os.path.join(out, "%s-%d.pt" % (mode, rank))) for rank in range(world)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    results = {"dump_unfused": train(out, 4, "dump_unfused"), "dump": train(out, 2, "dump"),
               "warmup": train(out, 2, "warmup"), "checkpoint": train(out, 2, "checkpoint")}
    results["resume"] = train(out, 2, "resume", steps=STEPS // 2)
    results["dir"] = out
    return results


@pytest.mark.parametrize("mode,world", [("dump_unfused", 4), ("dump", 2)])
def test_every_rank_gets_the_same_gradients(runs, mode, world):
    ranks = runs[mode]
    assert len(ranks) == world
    for step in range(STEPS):
        for name, grad in ranks[0]["grads"][step].items():
            for other in ranks[1:]:
                assert torch.equal(grad, other["grads"][step][name]), (step, name)
    # the learners' own gradients differ: the exchange made them equal
    assert not torch.equal(ranks[0]["local"][0]["3.weight"], ranks[1]["local"][0]["3.weight"])


def test_residues_are_kept_across_the_bucket_rebuild(runs):
    rank0 = runs["dump_unfused"][0]
    first, later = rank0["buckets"][0], rank0["buckets"][1]
    assert len(later) > 1 and first != later, "DDP did not rebuild its buckets: %s / %s" % (first, later)
    assert all(b == later for b in rank0["buckets"][1:])
    assert sorted(rank0["residue_names"]) == sorted(n for b in first for n in b)
    assert rank0["step"] == STEPS
    assert 0 < rank0["bytes_sent"] < rank0["bytes_raw"] / 8


def test_gradients_are_the_mean_of_the_decoded_streams(runs):
    """The hook's gradient of a step is the binary64 mean of the ranks' AdaComp decodes."""
    ranks = runs["dump_unfused"]
    encoders = [adacomp.Encoder(scale_factor=2.0) for _ in ranks]
    for step in range(STEPS):
        streams = [e.encode({n: g for n, g in r["local"][step].items()}) for e, r in zip(encoders, ranks)]
        out = {n: np.empty(tuple(g.shape), np.float32) for n, g in ranks[0]["local"][step].items()}
        adacomp.average(streams, out)
        for name, expected in out.items():
            assert np.array_equal(ranks[0]["grads"][step][name].numpy(), expected), (step, name)


def replay(binary, dump, weights):
    subprocess.run([binary, "replay", str(dump), "--save-weights", str(weights), "--scale-factor", "2", "-q"],
                   check=True)
    return np.load(weights)


def test_replay_of_the_dump_gives_the_same_weights_bit_for_bit(runs, adacomp_binary, tmp_path):
    """With an update that rounds w + (-lr) * g twice, as replay's SGD (format_spec/dump_layout.md)."""
    replayed = replay(adacomp_binary, runs["dir"] / "dump_unfused", tmp_path / "w.npz")
    trained = runs["dump_unfused"][0]["weights"]
    assert sorted(replayed.files) == sorted(trained)
    for name in replayed.files:
        assert np.array_equal(replayed[name], trained[name].numpy()), name


def test_replay_agrees_with_torch_sgd_within_its_fused_rounding(runs, adacomp_binary, tmp_path):
    """torch.optim.SGD's CPU kernel fuses w + (-lr) * g into one multiply-add (one rounding) where
    replay rounds the product and the sum: each step may move a weight by one float32 ulp of the
    values it passes through, at most the ulp of the tensor's largest weight."""
    replayed = replay(adacomp_binary, runs["dir"] / "dump", tmp_path / "w.npz")
    trained = runs["dump"][0]["weights"]
    differing = 0
    for name in replayed.files:
        ours, theirs = replayed[name], trained[name].numpy()
        assert np.abs(ours - theirs).max() <= STEPS * np.spacing(np.abs(theirs).max()), name
        differing += int((ours != theirs).sum())
    total = sum(replayed[n].size for n in replayed.files)
    assert differing < total / 10


def test_saved_streams_are_what_inspect_and_replay_see(runs, adacomp_binary, tmp_path):
    """Each rank's bucket streams refer to layouts saved beside them; decoded, they are replay's frames."""
    saved = runs["dir"] / "dump_unfused-streams"
    layouts = {adacomp.layout_hash(p.read_bytes()): p for p in saved.glob("layout-*.adc")}
    # one per bucket composition: DDP's first bucket, then its rebuilt ones
    compositions = {tuple(b) for step in runs["dump_unfused"][0]["buckets"] for b in step}
    assert len(layouts) == len(compositions) >= 2
    subprocess.run([adacomp_binary, "replay", str(runs["dir"] / "dump_unfused"), "--scale-factor", "2",
                    "--save-stream", str(tmp_path / "replayed"), "-q"], check=True)
    for step in range(STEPS):
        for rank in range(4):
            ours = {}
            for path in sorted((saved / ("step-%05d" % step)).glob("learner-%d-bucket-*.adc" % rank)):
                data = path.read_bytes()
                layout = next(p for h, p in layouts.items() if "0x%016x" % h in _refused_layout(data))
                document = json.loads(subprocess.run(
                    [adacomp_binary, "inspect", "--json", "--layout", str(layout), str(path)],
                    capture_output=True, text=True, check=True).stdout)
                assert document["error"] is None and document["totals"]["frames"] >= 1
                ours.update(adacomp.decode(data, layout=layout.read_bytes()))
            theirs = adacomp.decode((tmp_path / "replayed" / ("step-%05d" % step) /
                                     ("learner-%d.adc" % rank)).read_bytes())
            assert sorted(ours) == sorted(theirs)
            for name in ours:
                assert np.array_equal(ours[name], theirs[name]), (step, rank, name)


def _refused_layout(data):
    """The message naming the layout a stream refers to, when read without it."""
    with pytest.raises(adacomp.Error) as error:
        adacomp.decode(data)
    return str(error.value)


def test_warmup_steps_all_reduce_then_compress(runs):
    ranks = runs["warmup"]
    for step in range(STEPS):
        for name, grad in ranks[0]["grads"][step].items():
            mean = sum(r["local"][step][name].double() for r in ranks) / len(ranks)
            if step < 2:
                assert torch.allclose(grad.double(), mean, rtol=1e-6, atol=1e-9), (step, name)
            assert torch.equal(grad, ranks[1]["grads"][step][name])
        density = sum(int((g != 0).sum()) for g in ranks[0]["grads"][step].values()) / sum(
            g.numel() for g in ranks[0]["grads"][step].values())
        assert (density > 0.9) if step < 2 else (density < 0.5), (step, density)


def test_checkpoint_and_resume_continue_exactly(runs):
    whole, resumed = runs["checkpoint"], runs["resume"]
    for rank in range(2):
        assert resumed[rank]["step"] == STEPS
        for name, w in whole[rank]["weights"].items():
            assert torch.equal(w, resumed[rank]["weights"][name]), (rank, name)
        for step in range(STEPS // 2):
            for name, g in whole[rank]["grads"][STEPS // 2 + step].items():
                assert torch.equal(g, resumed[rank]["grads"][step][name]), (rank, step, name)


def test_a_hook_without_the_model_says_so():
    state = adacomp.torch.AdaCompState()

    class Bucket:
        def parameters(self):
            return [torch.zeros(1)]

        def index(self):
            return 0

    with pytest.raises(adacomp.Error, match="model="):
        state._parameter_names(Bucket())


def test_the_closed_loop_benchmark_is_reproduced_by_replay(tmp_path, adacomp_binary):
    """bench/closed_loop.py with --dump (4 processes, SGD with momentum 0.9): `adacomp replay` of
    the dump ends at the run's weights, within torch's fused update rounding (see above)."""
    dump = tmp_path / "dump"
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo")
    subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "bench", "closed_loop.py"), "--models", "cnn",
                    "--methods", "adacomp-coded", "--seeds", "1", "--epochs", "1", "--dump", str(dump),
                    "--out", str(tmp_path / "run.json")], check=True, timeout=300, env=env)
    run = json.load(open(tmp_path / "run.json"))["runs"][0]
    steps = run["steps"]
    assert steps >= 10 and run["ratio"] > 10
    meta = json.load(open(dump / "meta.json"))
    assert meta["momentum"] == 0.9 and meta["learners"] == 4
    replayed = replay(adacomp_binary, dump, tmp_path / "w.npz")
    trained = np.load(dump / "final.npz")
    assert sorted(replayed.files) == sorted(trained.files)
    for name in replayed.files:
        ours, theirs = replayed[name], trained[name]
        assert np.abs(ours - theirs).max() <= steps * np.spacing(np.abs(theirs).max()), name


def test_fixed_entries_send_self_describing_streams():
    """Format 1.0 has no layout records: with fixed entries the hook's streams describe themselves."""
    grads = {"w": torch.linspace(-1, 1, 600).reshape(20, 30)}
    coded, fixed = adacomp.torch.AdaCompState(), adacomp.torch.AdaCompState(entries="fixed")
    assert coded._layout(["w"], grads) is not None
    assert fixed._layout(["w"], grads) is None
    assert adacomp.inspect(fixed.encoder.encode(grads))[0]["format"] == "1.0"
