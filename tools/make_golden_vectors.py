#!/usr/bin/env python3
"""Writes format_spec/golden/: wire-format 1.x and 2.x golden streams and their expected content,
and fp8-conversions.json (every FP8 code's value and the code of chosen float32 inputs).

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
import adacomp_ref_coded as coded  # noqa: E402


def f32(values):
    return np.asarray(values, dtype=np.float32)


def floats(array):
    return [float(x) for x in np.asarray(array, dtype=np.float32).ravel()]


class Builder:
    """Frames of one stream: format 1.0 (fixed entries) or 2.0 (coded entries, compact frames),
    self-described or referring to a layout (`layout`: "inline" or "reference")."""

    def __init__(self, coded=False, layout=None):
        self.frames, self.meta, self.coded, self.layout = [], [], coded, layout
        self.tensors = []

    def _skip(self):
        return 0 if self.layout else None

    def compressed(self, name, dtype, gradient, residue, bin_size, scale_factor=2.0, zstd_level=0):
        g = ref.round_to_dtype(f32(gradient), dtype)
        r = f32(residue)
        counts, entries, scale, decoded, new_residue = ref.compress(g, r, bin_size, scale_factor)
        self.tensors.append((ref.KIND_COMPRESSED, dtype, name, list(g.shape), bin_size))
        if self.coded:
            self.frames.append(ref.coded_frame(name, dtype, list(g.shape), bin_size, counts, entries, scale,
                                               self._skip()))
        else:
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
        self.tensors.append((ref.KIND_PASSTHROUGH, dtype, name, list(v.shape), None))
        if self.coded:
            self.frames.append(ref.compact_passthrough_frame(name, dtype, v, zstd_level, self._skip()))
        else:
            self.frames.append(ref.passthrough_frame(name, dtype, v, zstd_level))
        self.meta.append({"name": name, "kind": "passthrough", "dtype": dtype, "shape": list(v.shape),
                          "zstd_level": zstd_level, "gradient": floats(v), "decoded": floats(v),
                          "decoded_in_source_dtype": floats(v)})

    def minor(self):
        """The lowest minor version the stream's dtypes need."""
        return max([ref.minor_version_for(t[1]) for t in self.tensors] + [0])

    def version(self):
        return "%d.%d" % (ref.CODED_MAJOR if self.coded else ref.FORMAT_MAJOR, self.minor())

    def stream(self):
        if not self.coded:
            return ref.stream(self.frames, self.minor())
        layout = b""
        if self.layout:
            layout = ref.layout_record(self.tensors, reference=self.layout == "reference")
        return ref.coded_stream(self.frames, layout, self.minor())

    def layout_file(self):
        return ref.coded_stream([], ref.layout_record(self.tensors), self.minor())


def valid_vectors(coded=False):
    """The same inputs in both formats: format 2.0 files are named coded-*."""
    out = {}

    b = Builder(coded)
    # Bin 0: gmax = |G_1| = 2, H_1 = -3 and H_2 = 3 pass, H_0 = 1 does not, G_3 = 0 never counts;
    # bin 1: gmax = 0.5, H_4 = 2.5 and H_6 = -1.25 pass; bin 2 is short (2 elements) and all zero.
    b.compressed("layer.0.weight", "f32",
                 gradient=[[0.5, -1.0, 1.25, 0.25, 2.0], [0.0, -0.75, 0.125, 0.0, 0.0]],
                 residue=[[0.0, -1.0, 0.5, -0.25, -1.5], [0.0, 0.25, 0.0, 0.0, 0.0]],
                 bin_size=4)
    out["basic-f32-narrow.adc"] = ("8-bit entries, short last bin, ties at the bin maximum, zeros, "
                                   "a residue that cancels the gradient", b)

    b = Builder(coded)
    rng = np.random.default_rng(7)
    g = rng.laplace(0, 1e-3, size=130).astype(np.float32)
    r = rng.laplace(0, 1e-3, size=130).astype(np.float32)
    b.compressed("fc.weight", "f32", gradient=g.reshape(13, 10), residue=r.reshape(13, 10), bin_size=100,
                 scale_factor=1.5)
    out["wide-index.adc"] = ("16-bit entries (T = 100), bins of 100 and 30 elements, scale factor 1.5", b)

    b = Builder(coded)
    b.compressed("h.weight", "f16", gradient=rng.laplace(0, 1e-2, size=(4, 3, 2, 2)),
                 residue=np.zeros((4, 3, 2, 2)), bin_size=50)
    b.compressed("b.weight", "bf16", gradient=rng.laplace(0, 1e-2, size=(3, 40)), residue=np.zeros((3, 40)),
                 bin_size=64)
    out["f16-bf16.adc"] = ("source dtypes float16 and bfloat16; decoded values rounded to the source dtype", b)

    b = Builder(coded)
    b.passthrough("norm.weight", "f32", [1.0, 0.5, -2.0, 3.25])
    b.passthrough("norm.bias", "f16", [[0.1, -0.2], [0.3, 65504.0]])
    b.passthrough("emb.weight", "bf16", [1.5, -0.0078125, 3e38])
    out["passthrough.adc"] = ("passthrough frames in f32, f16 and bf16", b)

    b = Builder(coded)
    g = np.zeros(4096, dtype=np.float32)
    g[::7] = 0.5
    g[3::11] = -0.25
    b.compressed("big.weight", "f32", gradient=g.reshape(64, 64), residue=np.zeros((64, 64)), bin_size=64,
                 zstd_level=3)
    b.passthrough("zeros.bias", "f32", np.zeros(512), zstd_level=3)
    out["zstd.adc"] = ("the zstd stage on a compressed and a passthrough frame", b)

    b = Builder(coded)
    b.compressed("silent.weight", "f32", gradient=np.zeros((3, 3)), residue=np.zeros((3, 3)), bin_size=4)
    b.compressed("empty.bias", "f32", gradient=np.zeros((0,)), residue=np.zeros((0,)), bin_size=50)
    b.compressed("scalar", "f32", gradient=np.float32(-0.5), residue=np.float32(0.25), bin_size=1)
    b.compressed("cancel", "f32", gradient=[1.0, -1.0], residue=[-1.0, 1.0], bin_size=2)
    # |H_1| = 1 equals gmax exactly (selected); |H_2| is one float step below it (not selected)
    b.compressed("tie", "f32", gradient=[1.0, 0.5, np.nextafter(np.float32(0.5), np.float32(0))],
                 residue=[0.0, 0.0, 0.0], bin_size=3)
    out["edge-cases.adc"] = ("nothing selected (scale 0, no entries), zero elements, rank 0, "
                             "residue cancelling the gradient, an exact tie |H| = gmax", b)

    b = Builder(coded)
    b.compressed("fc\u00fc.\u4e2d\u6587", "f32", gradient=[0.25, -0.5, 1.0], residue=[0.0, 0.0, 0.0], bin_size=16384)
    out["utf8-name-max-bin.adc"] = ("UTF-8 tensor name, the largest bin size 16384", b)

    b = Builder(coded)
    b.compressed("fc.weight", "f8e5m2", gradient=rng.laplace(0, 1e-2, size=(4, 30)), residue=np.zeros((4, 30)),
                 bin_size=32)
    b.compressed("conv.weight", "f8e4m3", gradient=rng.laplace(0, 0.5, size=(2, 3, 3, 3)),
                 residue=rng.laplace(0, 0.1, size=(2, 3, 3, 3)), bin_size=50)
    b.passthrough("norm.weight", "f8e4m3b11", [30.0, -2.0 ** -13, 1.0, -0.5, 0.0, 2.0 ** -10])
    b.passthrough("norm.bias", "f8e5m2", [57344.0, -2.0 ** -16, 1.5, -0.0])
    b.passthrough("emb.weight", "f8e4m3", [[448.0, -2.0 ** -9], [0.875, -240.0]])
    out["fp8.adc"] = ("format 1.1: FP8 sources (f8e5m2, f8e4m3 compressed; f8e4m3b11, f8e5m2, f8e4m3 "
                      "passthrough with the largest finite values and subnormals)", b)
    if coded:
        out = {"coded-" + name.replace(".adc", "") + ".adc": (description.replace("8-bit entries, ", "")
               .replace("16-bit entries (T = 100), ", "T = 100, ").replace("format 1.1", "format 2.1"), builder)
               for name, (description, builder) in out.items()}
    return out


def clustered_gradient(rng, rows, columns):
    """Selections as real layers give them: runs, a stride of 4 and row-wise signs (ReLU inputs)."""
    g = np.zeros((rows, columns), dtype=np.float32)
    for r in range(rows):
        sign = 1.0 if rng.random() < 0.5 else -1.0
        for c in range(columns):
            if c % 4 == 1 and rng.random() < 0.3:
                g[r, c] = sign * rng.uniform(0.5, 1.0)
            elif rng.random() < 0.02:
                g[r, c] = sign * rng.uniform(0.5, 1.0)
            else:
                g[r, c] = rng.normal(0, 0.01)
    return g


def coded_only_vectors():
    """Format 2.0 vectors without a 1.0 twin: rANS frames, long gaps, layouts."""
    out, layouts = {}, {}
    rng = np.random.default_rng(20)
    b = Builder(True)
    b.compressed("fc1.weight", "f32", gradient=clustered_gradient(rng, 24, 64), residue=np.zeros((24, 64)),
                 bin_size=8)
    g = np.zeros(2100, dtype=np.float32)
    g[[5, 21, 22, 40, 900, 2050, 2051, 2099]] = [0.5, -0.25, 0.75, 1.0, -1.0, 0.5, 0.5, -0.125]
    b.compressed("sparse.bias", "f32", gradient=g, residue=np.zeros(2100), bin_size=16384)
    b.compressed("conv.weight", "f16", gradient=clustered_gradient(rng, 8, 90).reshape(8, 5, 3, 6),
                 residue=np.zeros((8, 5, 3, 6)), bin_size=50)
    out["coded-rans.adc"] = ("rANS-coded entries (runs, stride 4, row-wise signs, bins of 8), gaps with extra bits "
                             "up to 1150, an f16 convolution kernel", b)

    def layout_builder(mode):
        b = Builder(True, mode)
        b.compressed("emb.weight", "f32", gradient=clustered_gradient(np.random.default_rng(4), 6, 40),
                     residue=np.zeros((6, 40)), bin_size=64)
        b.passthrough("norm.weight", "bf16", [1.0, -2.0, 0.5])
        b.compressed("head.bias", "f32", gradient=[0.5, -0.25, 0.0, 1.0], residue=[0, 0, 0, 0], bin_size=2)
        return b

    out["coded-layout-inline.adc"] = ("a full layout record, then frames that refer to its tensors by index", 
                                      layout_builder("inline"))
    reference = layout_builder("reference")
    out["coded-layout-reference.adc"] = ("frames that refer to an agreed layout (coded-layout.adl) by its hash",
                                         reference)
    layouts["coded-layout-reference.adc"] = ("coded-layout.adl", reference.layout_file())
    return out, layouts


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
    # a format 1.0 frame behind a 2.0 stream header is not a 2.0 record
    out["major-version-2.adc"] = (corrupt(base, 4, 2), "unknown record type 137")
    out["major-version-3.adc"] = (corrupt(base, 4, 3), "format version 3.0")
    out["unknown-dtype-6.adc"] = (corrupt(base, frame_at + 5, 6), "unknown dtype code 6")
    # an FP8 source in a stream that declares 1.0 (the minor version byte is not checksummed)
    out["fp8-in-1.0.adc"] = (corrupt(valid["fp8.adc"][1].stream(), 5, 0),
                             "dtype code 3 (f8e5m2) needs format 1.1 or later; the stream declares 1.0")
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


def split_rans(section):
    """The fields of a rANS entries section, to forge variants of it."""
    cur = 2
    size, cur = coded.read_varint(section, cur, "table size")
    freqs = []
    for _ in range(size):
        f, cur = coded.read_varint(section, cur, "table")
        freqs.append(f)
    flags = list(struct.unpack_from("<HH", section, cur))
    cur += 4
    w = section[1]
    counts, sizes = [], []
    for _ in range(w):
        k, cur = coded.read_varint(section, cur, "words")
        counts.append(k)
    for _ in range(w):
        x, cur = coded.read_varint(section, cur, "extras")
        sizes.append(x)
    states = list(struct.unpack_from("<%dI" % w, section, cur))
    cur += 4 * w
    words = []
    for k in counts:
        words.append(list(struct.unpack_from("<%dH" % k, section, cur)))
        cur += 2 * k
    extras = []
    for x in sizes:
        extras.append(section[cur:cur + x])
        cur += x
    return {"w": w, "freqs": freqs, "flags": flags, "states": states, "words": words, "extras": extras,
            "size": size, "counts": counts, "sizes": sizes, "tail": section[cur:]}


def join_rans(f, mode=0):
    out = bytes([mode, f["w"]]) + coded.varint(f["size"]) + b"".join(coded.varint(x) for x in f["freqs"])
    out += struct.pack("<HH", *f["flags"])
    out += b"".join(coded.varint(k) for k in f["counts"]) + b"".join(coded.varint(x) for x in f["sizes"])
    out += b"".join(struct.pack("<I", x) for x in f["states"])
    out += b"".join(struct.pack("<%dH" % len(w), *w) for w in f["words"])
    return out + b"".join(f["extras"]) + f["tail"]


def invalid_coded_vectors(coded_valid, layout_files):
    out = {}
    n, shape, T = 2000, [2000], 8
    rng = np.random.default_rng(9)
    positions = sorted(int(p) for p in rng.choice(n - 1, size=120, replace=False))
    positions[-1] = n - 1
    negatives = [bool(x) for x in rng.random(120) < 0.3]
    rans = coded.encode_rans(positions, negatives, n)
    fields = split_rans(rans)

    def frame(section=None, entry_count=len(positions), scale=0.5, shape=shape, head=None, record=ref.RECORD_FRAME,
              payload=None):
        if payload is None:
            payload = coded.varint(entry_count) + (struct.pack("<f", scale) + section if entry_count else b"")
        if head is None:
            head = ref.descriptor(ref.KIND_COMPRESSED, "f32", "w", shape, T)
        return ref._checksummed(bytes([record]) + head + coded.varint(len(payload)) + payload)

    def stream(*frames, layout=b""):
        return ref.coded_stream(list(frames), layout)

    def forged(**changes):
        f = dict(fields)
        f.update(changes)
        return join_rans(f)

    good = stream(frame(rans))
    assert len(list(ref.read_stream(good))) == 1
    out["coded-unknown-record.adc"] = (stream(frame(rans))[:8] + b"G" + stream(frame(rans))[8:],
                                       "unknown record type 71")
    out["coded-zstd-compressed.adc"] = (stream(frame(rans, record=ref.RECORD_ZSTD_FRAME)),
                                        "passthrough frames only")
    out["coded-non-minimal-varint.adc"] = (stream(frame(rans, head=bytes([0, 0x81, 0x00]) + b"w" + bytes([1]) + coded.varint(n) + bytes([8]))),
                                           "non-minimal varint")
    out["coded-varint-too-long.adc"] = (stream(frame(rans, head=bytes([0]) + b"\xff" * 9 + b"\x7f")),
                                        "exceeds 64 bits")
    out["coded-unknown-kind.adc"] = (stream(frame(rans, head=bytes([2, 1]) + b"w" + bytes([1]) + coded.varint(n))),
                                     "unknown frame kind 2")
    out["coded-unknown-dtype.adc"] = (stream(frame(rans, head=bytes([9 << 2, 1]) + b"w" + bytes([1]) + coded.varint(n) + bytes([8]))),
                                      "unknown dtype code 9")
    out["coded-bin-size-zero.adc"] = (stream(frame(rans, head=bytes([0, 1]) + b"w" + bytes([1]) + coded.varint(n) + bytes([0]))),
                                      "bin size 0 is outside")
    out["coded-entries-above-elements.adc"] = (stream(frame(rans, entry_count=n + 1)), "exceeds the element count")
    out["coded-scale-zero.adc"] = (stream(frame(rans, scale=0.0)), "scale is zero")
    out["coded-scale-nan.adc"] = (stream(frame(rans, scale=float("nan"))), "not finite")
    out["coded-empty-frame-extra-bytes.adc"] = (stream(frame(payload=b"\x00\x00")), "bytes follow the entry count")
    out["coded-unknown-mode.adc"] = (stream(frame(join_rans(fields, mode=2))), "unknown entry coding mode 2")
    out["coded-interleave-zero.adc"] = (stream(frame(forged(w=0, states=[], counts=[], sizes=[], words=[],
                                                            extras=[]))), "interleave count 0")
    out["coded-interleave-33.adc"] = (stream(frame(forged(w=33, states=[1 << 16] * 33, counts=[0] * 33,
                                                          sizes=[0] * 33, words=[[]] * 33, extras=[b""] * 33))),
                                      "interleave count 33")
    out["coded-table-size-136.adc"] = (stream(frame(forged(size=136, freqs=[30] * 135 + [46]))), "gap table size 136")
    sum_off = list(fields["freqs"])
    sum_off[-1] += 1
    out["coded-table-sum.adc"] = (stream(frame(forged(freqs=sum_off))), "sums to 4097")
    out["coded-table-trailing-zero.adc"] = (stream(frame(forged(size=fields["size"] + 1,
                                                                freqs=fields["freqs"] + [0]))),
                                            "ends with a zero frequency")
    out["coded-table-frequency-above.adc"] = (stream(frame(forged(size=2, freqs=[5000, 0]))), "exceeds 4096")
    out["coded-flag-frequency-zero.adc"] = (stream(frame(forged(flags=[0, fields["flags"][1]]))),
                                            "sign flag frequency 0")
    out["coded-flag-frequency-4096.adc"] = (stream(frame(forged(flags=[fields["flags"][0], 4096]))),
                                            "sign flag frequency 4096")
    out["coded-words-truncated.adc"] = (stream(frame(forged(counts=[fields["counts"][0] + 100] + fields["counts"][1:]))),
                                        "states, words or extra bits are truncated")
    out["coded-state-below.adc"] = (stream(frame(forged(states=[0xFFFF] + fields["states"][1:]))), "is below 2^16")
    out["coded-final-state.adc"] = (stream(frame(coded.encode_rans(positions, negatives, n,
                                                                   initial_state=(1 << 16) + 1))),
                                    "not its initial state 65536")
    out["coded-words-left-over.adc"] = (stream(frame(forged(counts=[fields["counts"][0] + 1] + fields["counts"][1:],
                                                            words=[fields["words"][0] + [0x1234]] + fields["words"][1:]))),
                                        "words left over")
    assert fields["counts"][0] > 0
    out["coded-rans-ends-early.adc"] = (stream(frame(forged(counts=[fields["counts"][0] - 1] + fields["counts"][1:],
                                                            words=[fields["words"][0][:-1]] + fields["words"][1:]))),
                                        "the rANS stream ends before entry")
    out["coded-section-trailing-bytes.adc"] = (stream(frame(rans + b"\x00")), "bytes follow the entries section")
    lane = next(j for j, x in enumerate(fields["extras"]) if x)
    longer = list(fields["extras"])
    longer[lane] = longer[lane] + b"\x00"
    sizes = list(fields["sizes"])
    sizes[lane] += 1
    out["coded-extra-bits-trailing.adc"] = (stream(frame(forged(extras=longer, sizes=sizes))),
                                            "do not end at their last byte")
    wide = coded.encode_rans(positions, negatives, n - 1)
    out["coded-entry-beyond-tensor.adc"] = (stream(frame(wide, shape=[n - 1])), "lies beyond the tensor")
    rice = coded.encode_rice(positions, negatives)
    out["coded-rice-parameter.adc"] = (stream(frame(bytes([1, 64]) + rice[2:])), "Rice parameter 64")
    out["coded-rice-truncated.adc"] = (stream(frame(rice[:-1])), "end before entry")
    padded = bytearray(rice)
    padded[-1] |= 0x80
    assert rice[-1] & 0x80 == 0
    out["coded-rice-padding.adc"] = (stream(frame(bytes(padded))), "padding bits are not zero")
    out["coded-checksum-mismatch.adc"] = (good[:-8] + bytes([good[-8] ^ 1]) + good[-7:], "checksum mismatch")
    out["coded-end-count.adc"] = (good[:-1] + b"\x02", "declares 2 frames")
    out["coded-no-end-record.adc"] = (good[:-2], "without its end record")
    passthrough = ref.compact_passthrough_frame("p", "f32", np.ones(3, np.float32))
    bad = bytearray(passthrough[:-4])
    bad[4] += 1  # payload size 13 instead of 12, one byte more in the payload
    bad += b"\x00"
    out["coded-passthrough-size.adc"] = (stream(ref._checksummed(bytes(bad))), "but the header implies")
    # layouts
    tensors = [(ref.KIND_COMPRESSED, "f32", "w", shape, T), (ref.KIND_PASSTHROUGH, "f32", "p", [3], None)]
    inline = ref.layout_record(tensors)
    indexed = frame(rans, head=coded.varint(0))
    assert len(list(ref.read_stream(stream(indexed, layout=inline)))) == 1
    out["coded-layout-missing.adc"] = (coded_valid["coded-layout-reference.adc"][1].stream(), "give its layout file")
    out["coded-layout-mismatch.adc"] = (stream(indexed, layout=ref.layout_record(tensors, reference=True)),
                                        "but the layout given has hash", "coded-layout.adl")
    out["coded-layout-after-frame.adc"] = (stream(frame(rans)).replace(b"E\x01", inline + b"E\x01"),
                                           "must come once, before")
    out["coded-layout-twice.adc"] = (stream(indexed, layout=inline + inline), "must come once, before")
    out["coded-layout-duplicate-name.adc"] = (stream(layout=ref.layout_record(tensors + tensors[:1])), "appears twice")
    out["coded-layout-unknown-form.adc"] = (stream(layout=ref._checksummed(b"L\x02")), "unknown layout record form 2")
    out["coded-layout-count-zero.adc"] = (stream(layout=ref._checksummed(b"L\x00\x00")), "tensor count 0")
    out["coded-layout-index-beyond.adc"] = (stream(frame(rans, head=coded.varint(5)), layout=inline),
                                            "of a layout of 2 tensors")
    corrupt_layout = bytearray(inline)
    corrupt_layout[5] ^= 0x20  # the name "w" becomes "W"
    out["coded-layout-checksum.adc"] = (stream(layout=bytes(corrupt_layout)), "checksum mismatch: the record")
    # FP8 in streams that declare 2.0: in a frame's descriptor, and in a layout record
    out["coded-fp8-in-2.0.adc"] = (corrupt(coded_valid["coded-fp8.adc"][1].stream(), 5, 0),
                                   "dtype code 3 (f8e5m2) needs format 2.1 or later; the stream declares 2.0")
    fp8_tensors = [(ref.KIND_PASSTHROUGH, "f8e4m3", "p", [3], None)]
    fp8_frame = ref.compact_passthrough_frame("p", "f8e4m3", np.array([1.0, 2.0, -0.5], dtype=np.float32),
                                              index_skip=0)
    assert len(list(ref.read_stream(ref.coded_stream([fp8_frame], ref.layout_record(fp8_tensors), 1)))) == 1
    out["coded-fp8-layout-in-2.0.adc"] = (ref.coded_stream([fp8_frame], ref.layout_record(fp8_tensors), 0),
                                          "layout record at byte 8: dtype code 4 (f8e4m3) needs format 2.1")
    return out


def main(target):
    os.makedirs(os.path.join(target, "invalid"), exist_ok=True)
    manifest = {"format_version": "2.1", "valid": [], "invalid": []}
    valid = valid_vectors()
    coded = valid_vectors(coded=True)
    coded_only, layouts = coded_only_vectors()
    coded.update(coded_only)
    streams, layout_files = {}, {}

    def add(file_name, description, data, frames, fmt, layout=None, reproducible=True):
        streams[file_name] = (data, layout)
        entry = {"file": file_name, "format": fmt, "description": description, "frames": frames,
                 "encoder_reproduces": reproducible}
        if layout:
            entry["layout"] = layout
        manifest["valid"].append(entry)

    for file_name, (description, builder) in valid.items():
        add(file_name, description, builder.stream(), builder.meta, builder.version())
    for file_name, (description, builder) in coded.items():
        layout = layouts.get(file_name)
        if layout:
            layout_files[layout[0]] = layout[1]
        # an encoder writes a layout file and streams that refer to it, never a layout inline
        add(file_name, description, builder.stream(), builder.meta, builder.version(), layout and layout[0],
            builder.layout != "inline")
    # Concatenation of two streams is itself a valid stream, whatever their versions.
    add("concatenated.adc", "basic-f32-narrow.adc followed by passthrough.adc",
        valid["basic-f32-narrow.adc"][1].stream() + valid["passthrough.adc"][1].stream(),
        valid["basic-f32-narrow.adc"][1].meta + valid["passthrough.adc"][1].meta, "1.0", reproducible=False)
    add("mixed-versions.adc", "basic-f32-narrow.adc (format 1.0) followed by coded-basic-f32-narrow.adc (2.0)",
        valid["basic-f32-narrow.adc"][1].stream() + coded["coded-basic-f32-narrow.adc"][1].stream(),
        valid["basic-f32-narrow.adc"][1].meta + coded["coded-basic-f32-narrow.adc"][1].meta, "1.0+2.0",
        reproducible=False)
    for file_name, data in layout_files.items():
        with open(os.path.join(target, file_name), "wb") as f:
            f.write(data)
    for file_name, (data, layout) in streams.items():
        with open(os.path.join(target, file_name), "wb") as f:
            f.write(data)
        # the reference reader must read back what the reference writer wrote
        agreed = ref.read_layout(layout_files[layout]) if layout else None
        decoded = list(ref.read_stream(data, agreed))
        expected = [m for m in manifest["valid"] if m["file"] == file_name][0]["frames"]
        assert len(decoded) == len(expected)
        for frame, meta in zip(decoded, expected):
            assert frame["name"] == meta["name"]
            assert [float(x) for x in frame["values"].ravel()] == meta["decoded"], file_name
    invalid = invalid_vectors(valid)
    invalid.update(invalid_coded_vectors(coded, layout_files))
    for file_name, vector in invalid.items():
        data, message = vector[:2]
        layout = vector[2] if len(vector) > 2 else None
        with open(os.path.join(target, "invalid", file_name), "wb") as f:
            f.write(data)
        try:
            list(ref.read_stream(data, ref.read_layout(layout_files[layout]) if layout else None))
            raise SystemExit("reference reader accepted invalid vector " + file_name)
        except (ref.CorruptStream, UnicodeDecodeError):
            pass
        entry = {"file": "invalid/" + file_name, "error_contains": message}
        if layout:
            entry["layout"] = layout
        manifest["invalid"].append(entry)
    with open(os.path.join(target, "vectors.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(target, "fp8-conversions.json"), "w") as f:
        f.write(fp8_conversions_text(fp8_conversions()))


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def fp8_conversions_text(table):
    """JSON with a line per format's values and a line per rounding case: small diffs, few lines."""
    lines = ["{", ' "comment": %s,' % json.dumps(table["comment"])]
    dtypes = [d for d in table if d != "comment"]
    for i, dtype in enumerate(dtypes):
        entry = table[dtype]
        lines.append(' %s: {' % json.dumps(dtype))
        lines.append('  "values": %s,' % json.dumps(entry["values"], separators=(",", ":")))
        lines.append('  "rounding": [')
        pairs = entry["rounding"]
        lines += ["   [%d,%d]%s" % (bits, code, "," if k + 1 < len(pairs) else "") for k, (bits, code) in enumerate(pairs)]
        lines.append("  ]")
        lines.append(" }" + ("," if i + 1 < len(dtypes) else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def fp8_conversions():
    """Per FP8 dtype: the float32 bits of every code's value, and [float32 bits, code] pairs for
    inputs chosen where rounding decides: every finite value, the midpoints between neighbours and
    the float32 values either side of them, half the smallest subnormal, the overflow threshold,
    infinities and NaN, with both signs."""
    out = {"comment": "written by tools/make_golden_vectors.py from tools/adacomp_ref.py (spec section 15)"}
    for dtype in ref.FP8_FORMATS:
        values = [ref.fp8_value(c, dtype) for c in range(256)]
        finite = sorted({abs(v) for v in values if np.isfinite(v)})
        largest = finite[-1]
        beyond = largest + 2.0 ** (np.frexp(largest)[1] - 1 - ref.FP8_FORMATS[dtype][1])
        points = list(finite) + [(a + b) / 2 for a, b in zip(finite, finite[1:])] + [(largest + beyond) / 2]
        inputs = set()
        for p in points + [beyond, 2 * beyond, 1e30, finite[1] / 4, 1e-30]:
            x = np.float32(p)
            for y in (x, np.nextafter(x, np.float32(0)), np.nextafter(x, np.float32(np.inf))):
                inputs.add(f32_bits(float(y)))
                inputs.add(f32_bits(-float(y)))
        for special in (np.inf, -np.inf):
            inputs.add(f32_bits(special))
        inputs.update({0x7FC00000, 0xFFC00000, 0x7F800001})
        rounding = [[bits, ref.fp8_code(struct.unpack("<f", struct.pack("<I", bits))[0], dtype)]
                    for bits in sorted(inputs)]
        out[dtype] = {"values": [f32_bits(v) if not np.isnan(v) else None for v in values], "rounding": rounding}
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "format_spec/golden")
