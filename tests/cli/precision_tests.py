#!/usr/bin/env python3
"""Tests of `adacomp replay`'s precision what-if (--residue-dtype, --reduce-dtype, --weights-dtype,
--learners-scale) against an independent NumPy replay written here, on the shipped sample dump:
deterministic roundings bit for bit, stochastic ones by their distribution over seeds.

usage: precision_tests.py ADACOMP_BINARY REPO_ROOT
"""
import glob
import json
import math
import os
import sys
import tempfile

import numpy as np

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
import adacomp_ref as ref  # noqa: E402

SAMPLE = T.sample
check, adacomp = T.check, T.run
F32 = np.float32

# ---------------------------------------------------------------------------------------------
# Formats, written from their definitions (not from the C++ library's code)

LARGEST = {"f16": 65504.0, "bf16": float(np.frombuffer(np.uint32(0x7F7F0000).tobytes(), F32)[0]),
           "f8e5m2": 57344.0}


def fixed_bits(fmt):
    il, fl = fmt[len("fixed:"):].split(".")
    return int(il), int(fl)


def nearest(x, fmt):
    x = np.asarray(x, F32)
    if fmt == "f32":
        return x.copy()
    if fmt == "f16":
        return x.astype(np.float16).astype(F32)
    if fmt in ("bf16", "f8e5m2"):
        return ref.round_to_dtype(x, fmt)
    il, fl = fixed_bits(fmt)
    units = np.clip(np.round(x.astype(np.float64) * 2.0 ** fl), -(2.0 ** (il - 1 + fl)), 2.0 ** (il - 1 + fl) - 1)
    return (units * 2.0 ** -fl).astype(F32)


def truncate(x64, fmt):
    """x64 (float64, exact) rounded toward zero into fmt; saturating."""
    x64 = np.asarray(x64, np.float64)
    if fmt == "f16":
        c = x64.astype(np.float16)
        over = np.abs(c.astype(np.float64)) > np.abs(x64)
        c[over] = np.nextafter(c[over], np.float16(0))
        return c.astype(F32)
    c = x64.astype(F32)
    over = np.abs(c.astype(np.float64)) > np.abs(x64)
    c[over] = np.nextafter(c[over], F32(0))
    if fmt == "bf16":
        bits = c.view(np.uint32) & np.uint32(0xFFFF0000)
        c = bits.view(F32)
    assert fmt in ("f32", "bf16"), fmt
    return np.clip(c, -LARGEST.get(fmt, np.finfo(F32).max), LARGEST.get(fmt, np.finfo(F32).max)).astype(F32)


def spacing(r, fmt):
    """The format's spacing at |r| (float64)."""
    a = np.minimum(np.abs(np.asarray(r, np.float64)), LARGEST[fmt])
    mantissa, min_normal = {"f16": (10, -14), "bf16": (7, -126)}[fmt]
    e = np.where(a > 0, np.frexp(a)[1] - 1, min_normal)
    return np.exp2(np.maximum(e, min_normal) - mantissa)


def stochastic(x, fmt, rng):
    """NumPy's own stochastic rounding: up with probability (|x| - lo) / spacing, in float64."""
    x = np.asarray(x, F32).astype(np.float64)
    if fmt.startswith("fixed:"):
        il, fl = fixed_bits(fmt)
        step = np.full(x.shape, 2.0 ** -fl)
        top = 2.0 ** (il - 1) - 2.0 ** -fl
    else:
        mantissa, min_normal = {"f16": (10, -14), "bf16": (7, -126)}[fmt]
        a = np.abs(x)
        e = np.where(a > 0, np.frexp(a)[1] - 1, min_normal)
        step = np.exp2(np.maximum(e, min_normal) - mantissa)
        top = LARGEST[fmt]
    a = np.abs(x)
    lo = np.floor(a / step) * step
    up = rng.random(x.shape) < (a - lo) / step
    return (np.sign(x) * np.minimum(lo + up * step, top)).astype(F32)


# ---------------------------------------------------------------------------------------------
# The independent replay

def replay(dump, residue="f32", residue_rounding="nearest", reduce=None, chunk=0, reduce_rounding="nearest",
           weights="f32", weights_rounding="nearest", scale=None, rng=None):
    meta = json.load(open(os.path.join(dump, "meta.json")))
    lr, momentum = F32(meta["lr"]), F32(meta.get("momentum", 0.0))
    step_dirs = sorted(glob.glob(os.path.join(dump, "step-*")))
    dump_learners = len(glob.glob(os.path.join(step_dirs[0], "learner-*.npz")))
    L = scale or dump_learners
    init = np.load(os.path.join(dump, "init.npz"))
    names = list(np.load(os.path.join(step_dirs[0], "learner-0.npz")).files)
    w_b = {n: init[n].astype(F32).ravel() for n in names}
    w_c = {n: nearest(v, weights) for n, v in w_b.items()}
    v_c = {n: np.zeros_like(v) for n, v in w_b.items()}
    v_b = {n: np.zeros_like(v) for n, v in w_b.items()}
    residues = [{} for _ in range(L)]
    shadows = [{} for _ in range(L)]
    steps = []
    for d in step_dirs:
        files = [np.load(os.path.join(d, "learner-%d.npz" % (l % dump_learners))) for l in range(L)]
        step = {}
        for n in names:
            decoded, exact_grads = [], []
            residue_error = residue_square = swamped = mass = 0.0
            for l in range(L):
                g = files[l][n].astype(F32).ravel()
                exact_grads.append(g)
                T_ = ref.default_bin_size(files[l][n].ndim)
                r = residues[l].get(n, np.zeros(g.size, F32))
                if residue != "f32":
                    nz = g != 0
                    a = np.abs(g.astype(np.float64))
                    mass += a[nz].sum()
                    swamped += a[nz & (a < 0.5 * spacing(r, residue))].sum()
                _, _, _, dec, new_r = ref.compress(g, r, T_)
                decoded.append(dec)
                if residue != "f32":
                    shadow = shadows[l].get(n, np.zeros(g.size, F32))
                    shadow = ref.compress(g, shadow, T_)[4]
                    shadows[l][n] = shadow
                    new_r = nearest(new_r, residue) if residue_rounding == "nearest" else stochastic(new_r, residue, rng)
                    residue_error += np.sum((new_r.astype(np.float64) - shadow) ** 2)
                    residue_square += np.sum(shadow.astype(np.float64) ** 2)
                residues[l][n] = new_r
            exact = np.sum(np.array(decoded, np.float64), axis=0)
            if reduce:
                size = chunk or L
                total = np.zeros(exact.size, F32)
                partial = np.zeros(exact.size, F32)
                for l, x in enumerate(decoded):
                    if reduce_rounding == "nearest":
                        partial = nearest(partial + x, reduce)
                    else:
                        partial = truncate(partial.astype(np.float64) + x, reduce)
                    if (l + 1) % size == 0 or l + 1 == L:
                        if reduce_rounding == "nearest":
                            total = nearest(total + partial, reduce)
                        else:
                            total = truncate(total.astype(np.float64) + partial, reduce)
                        partial[:] = 0
                a_c = (total.astype(np.float64) / L).astype(F32)
                step[n] = {"low": total.astype(np.float64), "exact": exact, "avg": a_c}
            else:
                a_c = (exact / L).astype(F32)
                step[n] = {}
            step[n].update(residue_error=residue_error, residue_square=residue_square, swamped=swamped, mass=mass)
            a_b = (np.sum(np.array(exact_grads, np.float64), axis=0) / L).astype(F32)
            v_c[n] = (momentum * v_c[n] + a_c).astype(F32)
            w_c[n] = (w_c[n] + (-lr) * v_c[n]).astype(F32)
            if weights != "f32":
                w_c[n] = nearest(w_c[n], weights) if weights_rounding == "nearest" else stochastic(w_c[n], weights, rng)
            v_b[n] = (momentum * v_b[n] + a_b).astype(F32)
            w_b[n] = (w_b[n] + (-lr) * v_b[n]).astype(F32)
        steps.append(step)
    return names, w_c, w_b, steps


def rel(a, b):
    a = np.concatenate([np.ravel(x).astype(np.float64) for x in a])
    b = np.concatenate([np.ravel(x).astype(np.float64) for x in b])
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def step_values(step_figures, learners):
    out = {}
    if "low" in step_figures[0]:
        low = np.concatenate([f["low"] for f in step_figures])
        exact = np.concatenate([f["exact"] for f in step_figures])
        avg = np.concatenate([f["avg"] for f in step_figures]).astype(np.float64)
        exact_avg = exact / learners
        out["reduce_variance_retention"] = np.var(low) / np.var(exact) if np.var(exact) > 0 else math.nan
        norm = np.sum(exact_avg ** 2)
        out["reduce_rel_error"] = math.sqrt(np.sum((avg - exact_avg) ** 2) / norm) if norm > 0 else math.nan
    square = sum(f["residue_square"] for f in step_figures)
    mass = sum(f["mass"] for f in step_figures)
    out["residue_rel_l2"] = (math.sqrt(sum(f["residue_error"] for f in step_figures) / square)
                             if square > 0 else math.nan)
    out["residue_swamped_share"] = sum(f["swamped"] for f in step_figures) / mass if mass > 0 else math.nan
    return out


def mean_finite(values):
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else None


def close(a, b, tolerance=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tolerance * max(abs(a), abs(b)) + 1e-15


def run_replay(tmp, label, args):
    report = os.path.join(tmp, "p.json")
    weights = os.path.join(tmp, "p.npz")
    result = adacomp("replay", SAMPLE, "--report", report, "--save-weights", weights, "-f", "-q", *args)
    check(result.returncode == 0, "%s: replay exit %d: %s" % (label, result.returncode, result.stderr))
    if result.returncode:
        return None, None
    return json.load(open(report)), dict(np.load(weights))


def deterministic_case(tmp, label, args, **settings):
    report, got = run_replay(tmp, label, args)
    if report is None:
        return
    names, w_c, w_b, steps = replay(SAMPLE, **settings)
    L = settings.get("scale") or report["dump_learners"]
    check(report["learners"] == L, "%s: %d learners" % (label, L))
    check(all(np.array_equal(got[n].ravel(), w_c[n]) for n in names),
          "%s: weights bit-identical to the independent NumPy replay" % label)
    drift = rel([w_c[n] for n in names], [w_b[n] for n in names])
    check(close(report["total"]["weight_drift"], drift, 1e-6), "%s: drift %r vs %r" % (label,
                                                                                          report["total"]["weight_drift"],
                                                                                          drift))
    keys = []
    if settings.get("reduce"):
        keys += ["reduce_variance_retention", "reduce_rel_error"]
    if settings.get("residue", "f32") != "f32":
        keys += ["residue_rel_l2", "residue_swamped_share"]
    for t, n in enumerate(names):
        per_step = [step_values([s[n]], L) for s in steps]
        for key in keys:
            want = mean_finite([v[key] for v in per_step])
            check(close(report["tensors"][t][key], want), "%s: %s %s %r vs %r" % (label, n, key,
                                                                                  report["tensors"][t][key], want))
    pooled = [step_values([s[n] for n in names], L) for s in steps]
    for key in keys:
        want = mean_finite([v[key] for v in pooled])
        check(close(report["total"][key], want), "%s: total %s %r vs %r" % (label, key, report["total"][key], want))
    for key in ("reduce_variance_retention", "residue_rel_l2"):
        if key not in keys:
            check(report["total"][key] is None, "%s: %s is null when its what-if is off" % (label, key))


def stochastic_case(tmp, label, args, settings, seeds=8):
    """Drift over seeds: adacomp's draws and NumPy's must give the same distribution."""
    ours, theirs = [], []
    bits_ok = True
    for seed in range(seeds):
        report, got = run_replay(tmp, label, args + ["--seed", str(seed)])
        if report is None:
            return
        ours.append(report["total"]["weight_drift"])
        if settings.get("weights") == "bf16":
            bits_ok &= all((np.ascontiguousarray(v, F32).view(np.uint32) & 0xFFFF == 0).all() for v in got.values())
        names, w_c, w_b, _ = replay(SAMPLE, rng=np.random.default_rng(1000 + seed), **settings)
        theirs.append(rel([w_c[n] for n in names], [w_b[n] for n in names]))
    check(bits_ok, "%s: every stored weight is a bf16 value" % label)
    a, b = np.array(ours), np.array(theirs)
    check(len(set(ours)) > 1, "%s: different seeds, different runs" % label)
    spread = math.sqrt(a.var(ddof=1) / seeds + b.var(ddof=1) / seeds)
    check(abs(a.mean() - b.mean()) <= 4 * spread + 1e-12,
          "%s: drift %.4e ± %.1e (adacomp) vs %.4e ± %.1e (NumPy)" % (label, a.mean(), a.std(), b.mean(), b.std()))
    again, _ = run_replay(tmp, label, args + ["--seed", "0"])
    check(again and again["total"]["weight_drift"] == ours[0], "%s: a seed reproduces its run" % label)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        plain, plain_weights = run_replay(tmp, "plain", [])
        explicit, explicit_weights = run_replay(tmp, "defaults given", [
            "--residue-dtype", "f32", "--residue-rounding", "nearest", "--weights-dtype", "f32",
            "--weights-rounding", "stochastic", "--reduce-rounding", "truncate"])
        if plain and explicit:
            check(all(np.array_equal(plain_weights[n], explicit_weights[n]) for n in plain_weights),
                  "the defaults given explicitly change no weight bit")
            check([t["update_rel_l2"] for s in plain["steps"] for t in s["tensors"]] ==
                  [t["update_rel_l2"] for s in explicit["steps"] for t in s["tensors"]],
                  "the defaults given explicitly change no figure")
            check(plain["precision"]["reduce_dtype"] == "exact" and not plain["learners_cycled"],
                  "the report says the reduction is exact and the learners are the dump's")

        deterministic_case(tmp, "residue bf16", ["--residue-dtype", "bf16"], residue="bf16")
        deterministic_case(tmp, "residue f16", ["--residue-dtype", "f16"], residue="f16")
        deterministic_case(tmp, "reduce f8e5m2", ["--reduce-dtype", "f8e5m2"], reduce="f8e5m2")
        deterministic_case(tmp, "reduce bf16 x16 learners, chunks of 4",
                           ["--reduce-dtype", "bf16", "--learners-scale", "16", "--reduce-chunk", "4"],
                           reduce="bf16", scale=16, chunk=4)
        deterministic_case(tmp, "reduce f16 truncate x8", ["--reduce-dtype", "f16", "--reduce-rounding", "truncate",
                                                           "--learners-scale", "8"],
                           reduce="f16", reduce_rounding="truncate", scale=8)
        deterministic_case(tmp, "reduce f32 truncate x8", ["--reduce-dtype", "f32", "--reduce-rounding", "truncate",
                                                           "--learners-scale", "8"],
                           reduce="f32", reduce_rounding="truncate", scale=8)
        deterministic_case(tmp, "weights fixed:4.12", ["--weights-dtype", "fixed:4.12"], weights="fixed:4.12")
        deterministic_case(tmp, "all three", ["--residue-dtype", "f16", "--reduce-dtype", "bf16", "--weights-dtype",
                                              "bf16"], residue="f16", reduce="bf16", weights="bf16")

        stochastic_case(tmp, "weights bf16 stochastic", ["--weights-dtype", "bf16", "--weights-rounding",
                                                         "stochastic"], {"weights": "bf16",
                                                                         "weights_rounding": "stochastic"})
        stochastic_case(tmp, "weights fixed:4.12 stochastic", ["--weights-dtype", "fixed:4.12", "--weights-rounding",
                                                               "stochastic"], {"weights": "fixed:4.12",
                                                                               "weights_rounding": "stochastic"})
        stochastic_case(tmp, "residue bf16 stochastic", ["--residue-dtype", "bf16", "--residue-rounding",
                                                         "stochastic"], {"residue": "bf16",
                                                                         "residue_rounding": "stochastic"})

        mixed = ["--residue-dtype", "bf16", "--residue-rounding", "stochastic", "--reduce-dtype", "bf16",
                 "--learners-scale", "8", "--weights-dtype", "fixed:4.12", "--weights-rounding", "stochastic",
                 "--seed", "3"]
        one, one_weights = run_replay(tmp, "threads 1", mixed)
        two, two_weights = run_replay(tmp, "threads 2", mixed + ["--threads", "2"])
        if one and two:
            check(all(np.array_equal(one_weights[n], two_weights[n]) for n in one_weights) and
                  one["tensors"] == two["tensors"] and one["total"] == two["total"],
                  "the what-if's draws and figures do not depend on --threads")
        for args, needle in ((("--reduce-chunk", "2"), "--reduce-chunk applies to --reduce-dtype"),
                             (("--residue-dtype", "f8e5m2"), "--residue-dtype 'f8e5m2': expected f32|f16|bf16"),
                             (("--weights-dtype", "fixed:40.2"), "IL + FL <= 32"),
                             (("--reduce-rounding", "stochastic"), "expected nearest|truncate"),
                             (("--learners-scale", "1"), "--learners-scale 1: must be at least the 2 learners"),
                             (("--learners-scale", "8", "--codec", "topk"), "cannot be combined with --codec"),
                             (("--weights-dtype", "bf16", "--codec", "topk"), "cannot be combined with --codec")):
            result = adacomp("replay", SAMPLE, *args, "-q")
            lines = result.stderr.strip().splitlines()
            check(result.returncode == 2 and len(lines) == 1 and needle in lines[0],
                  "%s: exit 2, one line with %r: %r" % (" ".join(args), needle, result.stderr))
        result = adacomp("replay", SAMPLE, "--reduce-dtype", "bf16", "--learners-scale", "8")
        check(result.returncode == 0 and "precision what-if" in result.stdout and "8 simulated by cycling" in
              result.stdout, "the summary prints the what-if's table and says the learners are cycled")
    return T.finish("precision")


if __name__ == "__main__":
    sys.exit(main())
