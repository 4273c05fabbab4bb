#!/usr/bin/env python3
"""Writes format_spec/golden/: wire-format v1 golden streams and their expected content.

The streams are produced by the independent reference encoder in adacomp_ref.py (not by the C++
library). vectors.json lists, per valid stream, every frame's inputs (gradient, prior residue, bin
size, scale factor, zstd level) and expected outputs (scale, entries, decoded values, new residue);
per invalid stream, the substring the decoder's error must contain. Values are JSON numbers that
are exactly representable float32 values.

    python3 tools/make_golden_vectors.py format_spec/golden
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adacomp_ref as ref  # noqa: E402


def f32(values):
    return np.asarray(values, dtype=np.float32)


def floats(array):
    return [float(x) for x in np.asarray(array, dtype=np.float32).ravel()]


class Builder:
    def __init__(self):
        self.frames, self.meta = [], []

    def compressed(self, name, dtype, gradient, residue, bin_size, scale_factor=2.0, zstd_level=0):
        g = ref.round_to_dtype(f32(gradient), dtype)
        r = f32(residue)
        counts, entries, scale, decoded, new_residue = ref.compress(g, r, bin_size, scale_factor)
        self.frames.append(ref.compressed_frame(name, dtype, list(g.shape), bin_size, counts, entries, scale,
                                                zstd_level))
        self.meta.append({
            "name": name, "kind": "compressed", "dtype": dtype, "shape": list(g.shape),
            "bin_size": bin_size, "scale_factor": scale_factor, "zstd_level": zstd_level,
            "gradient": floats(g), "residue": floats(r), "scale": float(scale),
            "bin_counts": counts, "entries": entries,
            "decoded": floats(decoded), "decoded_in_source_dtype": floats(ref.round_to_dtype(decoded, dtype)),
            "new_residue": floats(new_residue)})

    def passthrough(self, name, dtype, values, zstd_level=0):
        v = ref.round_to_dtype(f32(values), dtype)
        self.frames.append(ref.passthrough_frame(name, dtype, v, zstd_level))
        self.meta.append({"name": name, "kind": "passthrough", "dtype": dtype, "shape": list(v.shape),
                          "zstd_level": zstd_level, "gradient": floats(v), "decoded": floats(v),
                          "decoded_in_source_dtype": floats(v)})

    def stream(self):
        return ref.stream(self.frames)


def valid_vectors():
    out = {}

    b = Builder()
    # Bin 0: gmax = |G_1| = 2, H_1 = -3 and H_2 = 3 pass, H_0 = 1 does not, G_3 = 0 never counts;
    # bin 1: gmax = 0.5, H_4 = 2.5 and H_6 = -1.25 pass; bin 2 is short (2 elements) and all zero.
    b.compressed("layer.0.weight", "f32",
                 gradient=[[0.5, -1.0, 1.25, 0.25, 2.0], [0.0, -0.75, 0.125, 0.0, 0.0]],
                 residue=[[0.0, -1.0, 0.5, -0.25, -1.5], [0.0, 0.25, 0.0, 0.0, 0.0]],
                 bin_size=4)
    out["basic-f32-narrow.adc"] = ("8-bit entries, short last bin, ties at the bin maximum, zeros, "
                                   "a residue that cancels the gradient", b)

    b = Builder()
    rng = np.random.default_rng(7)
    g = rng.laplace(0, 1e-3, size=130).astype(np.float32)
    r = rng.laplace(0, 1e-3, size=130).astype(np.float32)
    b.compressed("fc.weight", "f32", gradient=g.reshape(13, 10), residue=r.reshape(13, 10), bin_size=100,
                 scale_factor=1.5)
    out["wide-index.adc"] = ("16-bit entries (T = 100), bins of 100 and 30 elements, scale factor 1.5", b)

    b = Builder()
    b.compressed("h.weight", "f16", gradient=rng.laplace(0, 1e-2, size=(4, 3, 2, 2)),
                 residue=np.zeros((4, 3, 2, 2)), bin_size=50)
    b.compressed("b.weight", "bf16", gradient=rng.laplace(0, 1e-2, size=(3, 40)), residue=np.zeros((3, 40)),
                 bin_size=64)
    out["f16-bf16.adc"] = ("source dtypes float16 and bfloat16; decoded values rounded to the source dtype", b)

    b = Builder()
    b.passthrough("norm.weight", "f32", [1.0, 0.5, -2.0, 3.25])
    b.passthrough("norm.bias", "f16", [[0.1, -0.2], [0.3, 65504.0]])
    b.passthrough("emb.weight", "bf16", [1.5, -0.0078125, 3e38])
    out["passthrough.adc"] = ("passthrough frames in f32, f16 and bf16", b)

    b = Builder()
    g = np.zeros(4096, dtype=np.float32)
    g[::7] = 0.5
    g[3::11] = -0.25
    b.compressed("big.weight", "f32", gradient=g.reshape(64, 64), residue=np.zeros((64, 64)), bin_size=64,
                 zstd_level=3)
    b.passthrough("zeros.bias", "f32", np.zeros(512), zstd_level=3)
    out["zstd.adc"] = ("the zstd stage on a compressed and a passthrough frame", b)

    b = Builder()
    b.compressed("silent.weight", "f32", gradient=np.zeros((3, 3)), residue=np.zeros((3, 3)), bin_size=4)
    b.compressed("empty.bias", "f32", gradient=np.zeros((0,)), residue=np.zeros((0,)), bin_size=50)
    b.compressed("scalar", "f32", gradient=np.float32(-0.5), residue=np.float32(0.25), bin_size=1)
    b.compressed("cancel", "f32", gradient=[1.0, -1.0], residue=[-1.0, 1.0], bin_size=2)
    # |H_1| = 1 equals gmax exactly (selected); |H_2| is one float step below it (not selected)
    b.compressed("tie", "f32", gradient=[1.0, 0.5, np.nextafter(np.float32(0.5), np.float32(0))],
                 residue=[0.0, 0.0, 0.0], bin_size=3)
    out["edge-cases.adc"] = ("nothing selected (scale 0, no entries), zero elements, rank 0, "
                             "residue cancelling the gradient, an exact tie |H| = gmax", b)

    b = Builder()
    b.compressed("fc\u00fc.\u4e2d\u6587", "f32", gradient=[0.25, -0.5, 1.0], residue=[0.0, 0.0, 0.0], bin_size=16384)
    out["utf8-name-max-bin.adc"] = ("UTF-8 tensor name, the largest bin size 16384", b)
    return out


def corrupt(data, offset, value):
    data = bytearray(data)
    data[offset] = value
    return bytes(data)


def invalid_vectors(valid):
    base = valid["basic-f32-narrow.adc"][1].stream()
    frame_at = 8
    name_len = len("layer.0.weight")
    # offsets inside the first frame of basic-f32-narrow.adc
    after_dims = frame_at + 10 + name_len + 2 * 8
    out = {}
    out["bad-magic.adc"] = (corrupt(base, 1, ord("X")), "not an adacomp stream")
    out["major-version-2.adc"] = (corrupt(base, 4, 2), "format version 2.0")
    out["reserved-stream-flags.adc"] = (corrupt(base, 6, 1), "reserved flag")
    out["checksum-mismatch.adc"] = (corrupt(base, len(base) - 9 - 4, base[len(base) - 13] ^ 0x10), "checksum mismatch")
    out["truncated-frame.adc"] = (base[:40], "truncated")
    out["no-end-record.adc"] = (base[:-8], "without its end record")
    out["end-count-mismatch.adc"] = (base[:-4] + struct.pack("<I", 2), "declares 2 frames")
    out["trailing-garbage.adc"] = (base + b"junk", "unexpected bytes")
    out["empty.adc"] = (b"", "empty input")
    out["unknown-kind.adc"] = (corrupt(base, frame_at + 4, 7), "unknown frame kind 7")
    out["bin-size-too-large.adc"] = (corrupt(base, after_dims + 2, 1), "bin size")  # T += 65536

    def forged(name, shape, bin_size, counts, entries, scale, dtype="f32", width=None):
        frame = bytearray(ref.compressed_frame(name, dtype, shape, bin_size, counts, entries, scale))
        if width is not None:
            at = 4 + 6 + len(name) + 8 * len(shape) + 4
            frame[at] = width
            frame = bytearray(frame[:-4])
            import xxhash
            frame += struct.pack("<I", xxhash.xxh64_intdigest(bytes(frame)) & 0xFFFFFFFF)
        return ref.stream([bytes(frame)])

    out["count-above-bin-length.adc"] = (forged("w", [6], 4, [0, 3], [1 << 2 | 1, 0 << 2 | 1, 1 << 2 | 2], 0.5),
                                         "declares 3 entries but holds 2")
    out["offset-beyond-bin.adc"] = (forged("w", [6], 4, [1, 0], [5 << 2 | 1], 0.5), "beyond bin")
    out["offset-in-short-bin.adc"] = (forged("w", [6], 4, [0, 1], [2 << 2 | 1], 0.5), "beyond bin")
    out["unsorted-offsets.adc"] = (forged("w", [6], 4, [2, 0], [2 << 2 | 1, 1 << 2 | 1], 0.5), "not above")
    out["duplicate-offsets.adc"] = (forged("w", [6], 4, [2, 0], [1 << 2 | 1, 1 << 2 | 2], 0.5), "not above")
    out["reserved-code-00.adc"] = (forged("w", [6], 4, [1, 0], [1 << 2 | 0], 0.5), "reserved ternary code 0")
    out["reserved-code-11.adc"] = (forged("w", [6], 4, [1, 0], [1 << 2 | 3], 0.5), "reserved ternary code 3")
    out["scale-zero-with-entries.adc"] = (forged("w", [6], 4, [1, 0], [1 << 2 | 1], 0.0), "scale is 0")
    out["entries-above-elements.adc"] = (forged("w", [2], 4, [1], [0 << 2 | 1, 1 << 2 | 1, 1], 0.5),
                                         "exceeds the element count")
    out["counts-below-entries.adc"] = (forged("w", [6], 4, [1, 0], [0 << 2 | 1, 1 << 2 | 1], 0.5),
                                       "bin headers sum to")
    out["width-mismatch.adc"] = (forged("w", [6], 4, [1, 0], [1 << 2 | 1], 0.5, width=2), "index width")
    out["shape-overflow.adc"] = (ref.stream([ref.compressed_frame("w", "f32", [1 << 40, 1 << 40], 16384, [], [], 0.0)]),
                                 "elements (decoder limit)")
    long_name = bytearray(ref.compressed_frame("w", "f32", [6], 4, [1, 0], [1 << 2 | 1], 0.5))
    long_name[8:10] = struct.pack("<H", 0xFFFF)
    out["huge-name-length.adc"] = (ref.stream([bytes(long_name)]), "name length 65535 is outside 1..4096")
    out["nan-scale.adc"] = (forged("w", [6], 4, [1, 0], [1 << 2 | 1], float("nan")), "not finite")
    # zstd section whose content is larger than the raw payload the header implies
    import zstandard
    big = zstandard.ZstdCompressor(level=3).compress(b"\0" * 1000)
    header = ref._common_header(ref.KIND_COMPRESSED, "f32", "w", [6])
    header = bytearray(header + struct.pack("<IBBHfQ", 4, 1, 0, 0, 0.0, 0))
    header[6] |= ref.FLAG_ZSTD
    body = bytes(header) + struct.pack("<Q", len(big)) + big
    import xxhash
    frame = body + struct.pack("<I", xxhash.xxh64_intdigest(body) & 0xFFFFFFFF)
    out["zstd-larger-than-raw.adc"] = (ref.stream([frame]), "zstd payload size")
    # zstd section smaller than the raw payload but declaring (and inflating to) far more
    header = ref._common_header(ref.KIND_COMPRESSED, "f32", "w", [4096])
    header = bytearray(header + struct.pack("<IBBHfQ", 4, 1, 0, 0, 0.0, 0))
    header[6] |= ref.FLAG_ZSTD
    bomb = zstandard.ZstdCompressor(level=3).compress(b"\0" * 100000)
    body = bytes(header) + struct.pack("<Q", len(bomb)) + bomb
    frame = body + struct.pack("<I", xxhash.xxh64_intdigest(body) & 0xFFFFFFFF)
    out["zstd-expands.adc"] = (ref.stream([frame]), "does not declare the raw payload size")
    return out


def main(target):
    os.makedirs(os.path.join(target, "invalid"), exist_ok=True)
    manifest = {"format_version": "1.0", "valid": [], "invalid": []}
    valid = valid_vectors()
    streams = {}
    for file_name, (description, builder) in valid.items():
        streams[file_name] = builder.stream()
        manifest["valid"].append({"file": file_name, "description": description, "frames": builder.meta})
    # Concatenation of two streams is itself a valid stream.
    streams["concatenated.adc"] = streams["basic-f32-narrow.adc"] + streams["passthrough.adc"]
    manifest["valid"].append({"file": "concatenated.adc",
                              "description": "basic-f32-narrow.adc followed by passthrough.adc",
                              "frames": valid["basic-f32-narrow.adc"][1].meta + valid["passthrough.adc"][1].meta})
    for file_name, data in streams.items():
        with open(os.path.join(target, file_name), "wb") as f:
            f.write(data)
        # the reference reader must read back what the reference writer wrote
        decoded = list(ref.read_stream(data))
        assert len(decoded) == len([m for m in manifest["valid"] if m["file"] == file_name][0]["frames"])
    for file_name, (data, message) in invalid_vectors(valid).items():
        with open(os.path.join(target, "invalid", file_name), "wb") as f:
            f.write(data)
        try:
            list(ref.read_stream(data))
            raise SystemExit("reference reader accepted invalid vector " + file_name)
        except (ref.CorruptStream, UnicodeDecodeError):
            pass
        manifest["invalid"].append({"file": "invalid/" + file_name, "error_contains": message})
    with open(os.path.join(target, "vectors.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "format_spec/golden")
