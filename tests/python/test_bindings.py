"""The Python module against the CLI and the library's rules: same bytes, same residues, same
figures; errors with the library's kind; float32 read in place; the GIL released while coding."""
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import adacomp


def gradients(seed=0):
    rng = np.random.default_rng(seed)
    return {"conv.weight": rng.standard_normal((8, 4, 3, 3)).astype(np.float32),
            "fc.weight": (rng.standard_normal((64, 300)) * rng.random((64, 300)) ** 4).astype(np.float32),
            "fc.bias": rng.standard_normal(64).astype(np.float32)}


def run_cli(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("entries", ["coded", "fixed"])
def test_encode_writes_the_cli_bytes_step_after_step(tmp_path, adacomp_binary, entries):
    encoder = adacomp.Encoder(entries=entries, bin_size={"fc.*": 100}, exclude=["fc.bias"])
    residue = str(tmp_path / "r.npz")
    for step in range(3):
        g = gradients(step)
        np.savez(tmp_path / "g.npz", **g)
        ours = encoder.encode(g)
        run_cli(adacomp_binary, "encode", str(tmp_path / "g.npz"), "--residue", residue, "--entries", entries,
                "--bin-size", "fc.*=100", "--exclude", "fc.bias", "-o", str(tmp_path / "cli.adc"), "-f")
        assert ours == (tmp_path / "cli.adc").read_bytes(), "step %d" % step
    theirs = np.load(residue)
    state = encoder.state_dict()["residues"]
    assert sorted(state) == sorted(theirs.files) == ["conv.weight", "fc.weight"]
    for name in state:
        assert np.array_equal(state[name], theirs[name]), name


def test_decode_and_inspect_agree_with_the_cli(tmp_path, adacomp_binary):
    data = adacomp.Encoder(zstd=3).encode(gradients())
    (tmp_path / "s.adc").write_bytes(data)
    run_cli(adacomp_binary, "decode", str(tmp_path / "s.adc"), "-o", str(tmp_path / "d.npz"))
    theirs = np.load(tmp_path / "d.npz")
    ours = adacomp.decode(data)
    assert list(ours) == ["conv.weight", "fc.weight", "fc.bias"]
    for name, values in ours.items():
        assert values.dtype == np.float32 and np.array_equal(values, theirs[name]), name
    document = json.loads(run_cli(adacomp_binary, "inspect", "--json", "--bins", str(tmp_path / "s.adc")))
    frames = adacomp.inspect(data, bins=True, source=str(tmp_path / "s.adc"))
    assert frames == document["frames"]
    assert adacomp.inspect(data, frames=["fc.*"])[0]["name"] == "fc.weight"


def test_an_agreed_layout_leaves_names_and_shapes_out_of_the_stream(tmp_path, adacomp_binary):
    g = gradients()
    np.savez(tmp_path / "g.npz", **g)
    a, b = adacomp.Encoder(bin_size={"fc.*": 100}), adacomp.Encoder(bin_size={"fc.*": 100})
    layout = a.layout(g)
    run_cli(adacomp_binary, "layout", str(tmp_path / "g.npz"), "--bin-size", "fc.*=100", "-o",
            str(tmp_path / "layout.adc"))
    assert layout == (tmp_path / "layout.adc").read_bytes()
    with_layout, without = a.encode(g, layout=layout), b.encode(g)
    # each frame drops its name (and shape and bin size); the header gains the hash (9 bytes)
    assert len(without) - len(with_layout) >= sum(len(n) + 1 for n in g) - 9
    ours = adacomp.decode(with_layout, layout=layout)
    theirs = adacomp.decode(without)
    assert list(ours) == list(theirs) and all(np.array_equal(ours[n], theirs[n]) for n in ours)
    assert [f["layout_index"] for f in adacomp.inspect(with_layout, layout=layout)] == [0, 1, 2]
    (tmp_path / "s.adc").write_bytes(with_layout)
    document = json.loads(run_cli(adacomp_binary, "inspect", "--json", "--layout", str(tmp_path / "layout.adc"),
                                  str(tmp_path / "s.adc")))
    assert document["streams"][0]["layout_hash"] == "0x%016x" % adacomp.layout_hash(layout)
    with pytest.raises(adacomp.Error, match="layout") as error:
        adacomp.decode(with_layout)
    assert error.value.kind == "invalid_input"
    other = adacomp.Encoder().layout(g)
    with pytest.raises(adacomp.Error, match="layout"):
        adacomp.decode(with_layout, layout=other)
    with pytest.raises(adacomp.Error, match="not in the layout"):
        a.encode(dict(g, extra=np.ones(3, np.float32)), layout=layout)


def test_decoded_plus_residue_is_the_gradient_of_a_fresh_step():
    g = gradients()
    encoder = adacomp.Encoder()
    decoded = adacomp.decode(encoder.encode(g))
    residues = encoder.state_dict()["residues"]
    for name in g:
        selected = decoded[name] != 0
        assert 0 < selected.sum() < selected.size / 4, name
        # unselected elements stay whole in the residue; selected ones carry sign(g) * scale
        assert np.array_equal(residues[name][~selected], g[name][~selected])
        assert np.array_equal(np.sign(decoded[name][selected]), np.sign(g[name][selected]))
        assert np.array_equal(residues[name][selected], g[name][selected] - decoded[name][selected])


def test_state_dict_resumes_exactly():
    a = adacomp.Encoder()
    a.encode(gradients(0))
    b = adacomp.Encoder()
    b.load_state_dict(a.state_dict())
    assert a.encode(gradients(1)) == b.encode(gradients(1))
    fresh = adacomp.Encoder()
    assert fresh.encode(gradients(1)) != b.encode(gradients(2))
    b.reset()
    assert b.residue_names() == []


def test_float32_is_read_in_place_and_other_layouts_are_refused():
    g = np.arange(600, dtype=np.float32).reshape(20, 30)
    assert adacomp._view_address("g", g, "f32") == g.ctypes.data
    encoder = adacomp.Encoder()
    for bad, what in [(g.astype(np.float64), "float64"), (g[:, ::2], "not C-contiguous"),
                      (g.T, "not C-contiguous"), (g.astype(np.int32), "elements")]:
        with pytest.raises(adacomp.Error) as error:
            encoder.encode({"w": bad})
        assert error.value.kind == "usage" and error.value.exit_code == 2
        assert "tensor 'w'" in str(error.value) and what in str(error.value)
    assert encoder.residue_names() == []  # nothing was encoded


def test_torch_tensors_in_place_and_narrow_dtypes():
    torch = pytest.importorskip("torch")
    t = torch.linspace(-1, 1, 1000).reshape(10, 100)
    array, dtype = adacomp.as_buffer("t", t)
    assert dtype == "f32" and adacomp._view_address("t", array, dtype) == t.data_ptr()
    encoder = adacomp.Encoder()
    data = encoder.encode({"half": t.half(), "brain": t.bfloat16(), "full": t})
    frames = adacomp.inspect(data)
    assert [f["dtype"] for f in frames] == ["f16", "bf16", "f32"]
    decoded = adacomp.decode(data)
    assert np.array_equal(decoded["half"] != 0, decoded["full"] != 0)
    with pytest.raises(adacomp.Error, match="tensor 'w' holds float64"):
        encoder.encode({"w": t.double()})
    with pytest.raises(adacomp.Error, match="not C-contiguous"):
        encoder.encode({"w": t.t()})


def test_settings_are_checked():
    for kwargs, message in [({"scale_factor": 5.0}, "scale_factor"), ({"entries": "dense"}, "entries"),
                            ({"bin_size": 0}, "bin"), ({"bin_size": "fc.*=99999"}, "bin"), ({"zstd": 25}, "zstd"),
                            ({"threads": 0}, "threads")]:
        with pytest.raises(adacomp.Error, match=message) as error:
            adacomp.Encoder(**kwargs)
        assert error.value.kind == "usage"
    assert adacomp.Encoder(bin_size=[7, "fc.*=9"]).bin_size_for("fc.weight", 2) == 9
    assert adacomp.Encoder(bin_size=[7, "fc.*=9"]).bin_size_for("conv.weight", 4) == 7
    assert adacomp.Encoder().bin_size_for("fc.weight", 2) == 500
    assert adacomp.Encoder(exclude=["*.bias"]).bin_size_for("fc.bias", 1) == 0


def test_a_failed_encode_stops_the_encoder_until_reset():
    encoder = adacomp.Encoder()
    g = gradients()
    encoder.encode(g)
    bad = dict(g)
    bad["fc.weight"] = g["fc.weight"].copy()
    bad["fc.weight"][3, 7] = np.nan
    with pytest.raises(adacomp.Error) as error:
        encoder.encode(bad)
    assert error.value.kind == "invalid_input" and "fc.weight" in str(error.value) and "NaN" in str(error.value)
    with pytest.raises(adacomp.Error, match="residues are lost"):
        encoder.encode(g)
    with pytest.raises(adacomp.Error, match="residues are lost"):
        encoder.state_dict()
    encoder.reset()
    assert encoder.encode(g) == adacomp.Encoder().encode(g)


def test_corrupt_streams_raise_invalid_input_naming_the_offset():
    data = bytearray(adacomp.Encoder().encode(gradients()))
    data[len(data) // 2] ^= 0x40
    for call in (adacomp.decode, adacomp.inspect):
        with pytest.raises(adacomp.Error) as error:
            call(bytes(data), source="g.adc")
        assert error.value.kind == "invalid_input" and error.value.exit_code == 3
        assert str(error.value).startswith("g.adc: ") and "byte" in str(error.value)
    with pytest.raises(adacomp.Error, match="truncated|end of input"):
        adacomp.decode(bytes(data[:20]))


def test_average_is_the_binary64_mean_in_learner_order():
    g = [gradients(seed) for seed in range(3)]
    encoders = [adacomp.Encoder(exclude=["fc.bias"]) for _ in g]
    streams = [e.encode(x) for e, x in zip(encoders, g)]
    out = {name: np.empty_like(v) for name, v in g[0].items()}
    adacomp.average(streams, out)
    decoded = [adacomp.decode(s) for s in streams]
    for name in out:
        expected = (sum(d[name].astype(np.float64) for d in decoded) / 3).astype(np.float32)
        assert np.array_equal(out[name], expected), name
    with pytest.raises(adacomp.Error, match="no frame of tensor 'extra'"):
        adacomp.average(streams, dict(out, extra=np.empty(3, np.float32)))
    with pytest.raises(adacomp.Error, match="elements"):
        adacomp.average(streams, dict(out, **{"fc.bias": np.empty(5, np.float32)}))
    with pytest.raises(adacomp.Error, match="not float32"):
        adacomp.average(streams, dict(out, **{"fc.bias": np.empty(64, np.float64)}))


def test_the_gil_is_released_while_coding():
    big = {"w": np.random.default_rng(1).standard_normal((2048, 4096)).astype(np.float32)}
    encoder = adacomp.Encoder()
    window = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(30.0)  # a thread holding the GIL keeps it: only a release lets main run
    try:
        def work():
            start = time.perf_counter()
            encoder.encode(big)
            window.extend([start, time.perf_counter()])

        worker = threading.Thread(target=work)
        stamps = []
        worker.start()
        while worker.is_alive():
            stamps.append(time.perf_counter())
            time.sleep(0.0005)
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    inside = [t for t in stamps if window[0] < t < window[1]]
    assert len(inside) >= 3, "main thread ran %d times during the encode" % len(inside)


def test_package_metadata():
    assert adacomp.FORMAT_VERSION == (2, 1)
    assert adacomp.__version__.count(".") == 2
    assert issubclass(adacomp.Error, Exception)
