#!/usr/bin/env python3
"""Independent reference reader and encoder for the adacomp wire formats 1.0 and 2.0.

Written from format_spec/wire_format.md alone, in Python with NumPy, sharing no code with the C++
library: the test suite uses it to cross-check the C++ decoder and encoder, and to produce the
golden vectors in format_spec/golden/.

    python3 tools/adacomp_ref.py decode STREAM.adc OUT.npz   # decode with the reference reader
    python3 tools/adacomp_ref.py check STREAM.adc             # validate, print one line per frame
    python3 tools/adacomp_ref.py decode STREAM.adc OUT.npz LAYOUT.adl   # a stream with an agreed layout

Requires Debian's python3-numpy, python3-xxhash and python3-zstandard.
"""
import math
import struct
import sys

import numpy as np
import xxhash
import zstandard

import adacomp_ref_coded as coded

STREAM_MAGIC = b"\x89ADC"
FRAME_TAG = b"\x89ADF"
END_TAG = b"\x89ADE"
FORMAT_MAJOR, FORMAT_MINOR = 1, 0
CODED_MAJOR = 2
RECORD_FRAME, RECORD_ZSTD_FRAME, RECORD_LAYOUT, RECORD_END = 0x46, 0x5A, 0x4C, 0x45
LAYOUT_FULL, LAYOUT_REFERENCE = 0, 1
KIND_COMPRESSED, KIND_PASSTHROUGH = 0, 1
FLAG_ZSTD = 0x01
DTYPES = {0: "f32", 1: "f16", 2: "bf16", 3: "f8e5m2", 4: "f8e4m3", 5: "f8e4m3b11"}
DTYPE_SIZE = {"f32": 4, "f16": 2, "bf16": 2, "f8e5m2": 1, "f8e4m3": 1, "f8e4m3b11": 1}
# spec section 15.1: (exponent bits, mantissa bits, bias, how the top codes are spent)
FP8_FORMATS = {"f8e5m2": (5, 2, 15, "ieee"), "f8e4m3": (4, 3, 7, "fn"), "f8e4m3b11": (4, 3, 11, "fnuz")}


def minor_version_for(dtype):
    """Versions 1.1 and 2.1 added the FP8 dtypes (spec section 10)."""
    return 1 if dtype in FP8_FORMATS else 0
CODE_POSITIVE, CODE_NEGATIVE = 0b01, 0b10
MAX_BIN_SIZE = 16384
MAX_ELEMENTS = 1 << 32


class CorruptStream(Exception):
    pass


def index_width(bin_size):
    return 1 if bin_size <= 64 else 2


def default_bin_size(rank):
    return 500 if rank == 2 else 50


# ---------------------------------------------------------------------------------------------
# dtype helpers (float32 <-> float16 / bfloat16, round to nearest even)

def fp8_value(code, dtype):
    """The value of one FP8 code as spec section 15.1 defines it (a Python float, exact)."""
    e_bits, m_bits, bias, kind = FP8_FORMATS[dtype]
    sign = -1.0 if code & 0x80 else 1.0
    e, m = (code >> m_bits) & ((1 << e_bits) - 1), code & ((1 << m_bits) - 1)
    if kind == "ieee" and e == (1 << e_bits) - 1:
        return sign * math.inf if m == 0 else math.nan
    if kind == "fn" and code & 0x7F == 0x7F:
        return math.nan
    if kind == "fnuz" and code == 0x80:
        return math.nan
    if e == 0:
        return sign * math.ldexp(m, 1 - bias - m_bits)
    return sign * math.ldexp((1 << m_bits) + m, e - bias - m_bits)


def _fp8_magnitudes(dtype):
    """(value, code) of every finite non-negative code, ascending."""
    return sorted((fp8_value(c, dtype), c) for c in range(128) if math.isfinite(fp8_value(c, dtype)))


def fp8_code(x, dtype):
    """Section 15.2 by exhaustive search: the nearest finite value, ties to the even code; above the
    largest finite, Inf (E5M2) or saturation (the finite-only formats)."""
    e_bits, m_bits, bias, kind = FP8_FORMATS[dtype]
    x = float(x)
    sign = 0x80 if math.copysign(1.0, x) < 0 else 0
    if math.isnan(x):
        return {"ieee": sign | 0x7E, "fn": sign | 0x7F, "fnuz": 0x80}[kind]
    a = abs(x)
    table = _fp8_magnitudes(dtype)
    largest, largest_code = table[-1]
    # the next value an unbounded exponent would give above the largest finite (an even code)
    beyond = largest + math.ldexp(1.0, math.frexp(largest)[1] - 1 - m_bits)
    if a >= (largest + beyond) / 2 and not (a == (largest + beyond) / 2 and largest_code % 2 == 0):
        code = 0x7C if kind == "ieee" else largest_code
    else:
        best = None
        for value, c in table:
            d = abs(a - value)
            if best is None or d < best[0] or (d == best[0] and c % 2 == 0):
                best = (d, c)
        code = best[1]
    if code == 0 and kind == "fnuz":
        return 0
    return sign | code


def from_source_bytes(raw, dtype, count):
    if dtype in FP8_FORMATS:
        codes = np.frombuffer(raw, dtype="u1", count=count)
        return np.array([fp8_value(int(c), dtype) for c in codes], dtype=np.float32)
    if dtype == "f32":
        return np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
    if dtype == "f16":
        return np.frombuffer(raw, dtype="<f2", count=count).astype(np.float32)
    bits = np.frombuffer(raw, dtype="<u2", count=count).astype(np.uint32) << 16
    return bits.view(np.float32)


def to_source_bytes(values, dtype):
    values = np.ascontiguousarray(values, dtype=np.float32)
    if dtype in FP8_FORMATS:
        return bytes(fp8_code(v, dtype) for v in values.ravel())
    if dtype == "f32":
        return values.astype("<f4").tobytes()
    if dtype == "f16":
        return values.astype("<f2").tobytes()
    return bf16_bits(values).astype("<u2").tobytes()


def bf16_bits(values):
    bits = values.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint32)
    nan = np.isnan(values)
    rounded[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint32)
    return rounded.astype(np.uint16)


def round_to_dtype(values, dtype):
    return from_source_bytes(to_source_bytes(values, dtype), dtype, values.size).reshape(values.shape)


# ---------------------------------------------------------------------------------------------
# The algorithm (spec section "Algorithm"), written element by element as the spec states it.

def compress(gradient, residue, bin_size, scale_factor=2.0):
    """Returns (bin_counts, entries, scale, decoded, new_residue) for flat float32 arrays."""
    g = np.asarray(gradient, dtype=np.float32).ravel()
    r = np.asarray(residue, dtype=np.float32).ravel()
    k = np.float32(scale_factor)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(r))):
        raise ValueError("non-finite input")
    G = (r + g).astype(np.float32)
    H = (r + (k * g).astype(np.float32)).astype(np.float32)
    n = g.size
    bins = -(-n // bin_size)
    pad = bins * bin_size - n
    # zero padding changes neither a bin's max |G| nor its selection (G = 0 is never selected)
    G2 = np.concatenate([G, np.zeros(pad, np.float32)]).reshape(bins, bin_size)
    H2 = np.concatenate([H, np.zeros(pad, np.float32)]).reshape(bins, bin_size)
    gmax = np.abs(G2).max(axis=1, keepdims=True) if bins else np.zeros((0, 1), np.float32)
    mask2 = (np.abs(H2) >= gmax) & (G2 != 0)
    # per-bin sums in double, in index order (cumsum is sequential), then over bins in bin order
    magnitudes = np.where(mask2, np.abs(G2).astype(np.float64), 0.0)
    bin_sums = np.cumsum(magnitudes, axis=1)[:, -1] if bins else np.zeros(0)
    total = float(np.cumsum(bin_sums)[-1]) if bins else 0.0
    selected = mask2.ravel()[:n]
    m = int(selected.sum())
    scale = np.float32(total / m) if m else np.float32(0.0)
    bin_counts = mask2.sum(axis=1).astype(int).tolist()
    rows, offsets = np.nonzero(mask2)
    codes = np.where(G2[rows, offsets] > 0, CODE_POSITIVE, CODE_NEGATIVE)
    entries = ((offsets << 2) | codes).astype(int).tolist()
    decoded = np.where(selected, np.sign(G) * scale, np.float32(0)).astype(np.float32)
    new_residue = (G - decoded).astype(np.float32)
    return bin_counts, entries, scale, decoded, new_residue


# ---------------------------------------------------------------------------------------------
# Writer

def _frame_bytes(header, payload_raw, zstd_level):
    flags_index = 6
    stored = payload_raw
    if zstd_level and payload_raw:
        packed = zstandard.ZstdCompressor(level=zstd_level, write_content_size=True).compress(payload_raw)
        if len(packed) < len(payload_raw):
            stored = packed
            header = bytearray(header)
            header[flags_index] |= FLAG_ZSTD
            header = bytes(header)
    body = header + struct.pack("<Q", len(stored)) + stored
    return body + struct.pack("<I", xxhash.xxh64_intdigest(body) & 0xFFFFFFFF)


def _common_header(kind, dtype, name, shape):
    code = {v: k for k, v in DTYPES.items()}[dtype]
    raw_name = name.encode("utf-8")
    out = FRAME_TAG + struct.pack("<BBBBH", kind, code, 0, len(shape), len(raw_name)) + raw_name
    return out + b"".join(struct.pack("<Q", d) for d in shape)


def compressed_frame(name, dtype, shape, bin_size, bin_counts, entries, scale, zstd_level=0):
    w = index_width(bin_size)
    header = _common_header(KIND_COMPRESSED, dtype, name, shape)
    header += struct.pack("<IBBHfQ", bin_size, w, 0, 0, scale, len(entries))
    fmt = "<%d%s" % (len(bin_counts) + len(entries), "B" if w == 1 else "H")
    payload = struct.pack(fmt, *(list(bin_counts) + list(entries)))
    return _frame_bytes(header, payload, zstd_level)


def passthrough_frame(name, dtype, values, zstd_level=0):
    header = _common_header(KIND_PASSTHROUGH, dtype, name, list(values.shape))
    return _frame_bytes(header, to_source_bytes(values.ravel(), dtype), zstd_level)


def stream(frames, minor=FORMAT_MINOR):
    return (STREAM_MAGIC + struct.pack("<BBH", FORMAT_MAJOR, minor, 0) + b"".join(frames)
            + END_TAG + struct.pack("<I", len(frames)))


# ---------------------------------------------------------------------------------------------
# Writer, format 2.0

def _checksummed(body):
    return body + struct.pack("<I", xxhash.xxh64_intdigest(body) & 0xFFFFFFFF)


def descriptor(kind, dtype, name, shape, bin_size=None):
    code = {v: k for k, v in DTYPES.items()}[dtype]
    raw_name = name.encode("utf-8")
    out = bytes([kind | code << 2]) + coded.varint(len(raw_name)) + raw_name + bytes([len(shape)])
    out += b"".join(coded.varint(d) for d in shape)
    if kind == KIND_COMPRESSED:
        out += coded.varint(bin_size)
    return out


def coded_payload(shape, bin_size, bin_counts, entries, scale):
    n = 1
    for d in shape:
        n *= d
    if not entries:
        return coded.varint(0)
    positions, negatives, e = [], [], 0
    for b, count in enumerate(bin_counts):
        for _ in range(count):
            positions.append(b * bin_size + (entries[e] >> 2))
            negatives.append((entries[e] & 3) == CODE_NEGATIVE)
            e += 1
    section = coded.encode_entries(positions, negatives, coded.row_length(shape, n))
    return coded.varint(len(entries)) + struct.pack("<f", scale) + section


def compact_frame(head, payload, zstd_level=0, passthrough=False):
    """head: the descriptor, or the varint index skip of a stream with a layout."""
    record = RECORD_FRAME
    if zstd_level and passthrough and payload:
        packed = zstandard.ZstdCompressor(level=zstd_level, write_content_size=True).compress(payload)
        if len(packed) < len(payload):
            payload, record = packed, RECORD_ZSTD_FRAME
    return _checksummed(bytes([record]) + head + coded.varint(len(payload)) + payload)


def coded_frame(name, dtype, shape, bin_size, bin_counts, entries, scale, index_skip=None):
    head = descriptor(KIND_COMPRESSED, dtype, name, shape, bin_size) if index_skip is None else coded.varint(index_skip)
    return compact_frame(head, coded_payload(shape, bin_size, bin_counts, entries, scale))


def compact_passthrough_frame(name, dtype, values, zstd_level=0, index_skip=None):
    head = descriptor(KIND_PASSTHROUGH, dtype, name, list(values.shape)) if index_skip is None else coded.varint(index_skip)
    return compact_frame(head, to_source_bytes(values.ravel(), dtype), zstd_level, passthrough=True)


def layout_body(tensors):
    """tensors: (kind, dtype, name, shape, bin_size or None)."""
    return coded.varint(len(tensors)) + b"".join(descriptor(*t) for t in tensors)


def layout_hash(tensors):
    return xxhash.xxh64_intdigest(layout_body(tensors))


def layout_record(tensors, reference=False):
    if reference:
        return _checksummed(bytes([RECORD_LAYOUT, LAYOUT_REFERENCE]) + struct.pack("<Q", layout_hash(tensors)))
    return _checksummed(bytes([RECORD_LAYOUT, LAYOUT_FULL]) + layout_body(tensors))


def coded_stream(frames, layout=b"", minor=0):
    return (STREAM_MAGIC + struct.pack("<BBH", CODED_MAJOR, minor, 0) + layout + b"".join(frames)
            + bytes([RECORD_END]) + coded.varint(len(frames)))


# ---------------------------------------------------------------------------------------------
# Reader: every rule of the spec's "Decoder requirements"

class _Cursor:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, size, what):
        if self.pos + size > len(self.data):
            raise CorruptStream("truncated at byte %d while reading %s" % (len(self.data), what))
        out = self.data[self.pos:self.pos + size]
        self.pos += size
        return out

    def unpack(self, fmt, what):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def read_stream(data, agreed_layout=None):
    """Yields dicts with the frame fields and 'values' (float32 array of the frame's shape).

    agreed_layout: the tensors of a layout file, for streams that refer to one by its hash."""
    cur = _Cursor(bytes(data))
    if not data:
        raise CorruptStream("empty input")
    while cur.pos < len(cur.data):
        magic = cur.take(4, "stream magic")
        if magic != STREAM_MAGIC:
            raise CorruptStream("bad stream magic at byte %d" % (cur.pos - 4))
        major, minor, flags = cur.unpack("<BBH", "stream header")
        if major not in (FORMAT_MAJOR, CODED_MAJOR):
            raise CorruptStream("format version %d.%d, reader knows 1.0, 1.1, 2.0 and 2.1" % (major, minor))
        if flags:
            raise CorruptStream("reserved stream flags")
        if major == CODED_MAJOR:
            yield from _read_coded_stream(cur, agreed_layout, minor)
            continue
        frames = 0
        while True:
            at = cur.pos
            tag = cur.take(4, "record tag")
            if tag == END_TAG:
                (count,) = cur.unpack("<I", "end record")
                if count != frames:
                    raise CorruptStream("end record declares %d frames, stream has %d" % (count, frames))
                break
            if tag != FRAME_TAG:
                raise CorruptStream("unknown record tag at byte %d" % at)
            yield _read_frame(cur, at, minor)
            frames += 1


def _check_dtype_version(dtype, major, minor):
    if minor_version_for(dtype) > minor:
        raise CorruptStream("dtype %s needs format %d.%d or later; the stream declares %d.%d"
                            % (dtype, major, minor_version_for(dtype), major, minor))


def _read_frame(cur, at, minor):
    kind, dtype_code, flags, rank, name_len = cur.unpack("<BBBBH", "frame header")
    if kind not in (KIND_COMPRESSED, KIND_PASSTHROUGH) or dtype_code not in DTYPES:
        raise CorruptStream("frame at byte %d: bad kind or dtype" % at)
    if flags & ~FLAG_ZSTD or rank > 8 or not 1 <= name_len <= 4096:
        raise CorruptStream("frame at byte %d: bad flags, rank or name length" % at)
    name = cur.take(name_len, "name").decode("utf-8")
    if "\0" in name:
        raise CorruptStream("NUL in name")
    shape = list(cur.unpack("<%dQ" % rank, "shape"))
    n = 1
    for d in shape:
        n *= d
    if n > MAX_ELEMENTS:
        raise CorruptStream("too many elements")
    dtype = DTYPES[dtype_code]
    _check_dtype_version(dtype, FORMAT_MAJOR, minor)
    frame = {"name": name, "dtype": dtype, "shape": shape, "kind": kind, "zstd": bool(flags & FLAG_ZSTD)}
    if kind == KIND_COMPRESSED:
        T, w, res8, res16, scale, entry_count = cur.unpack("<IBBHfQ", "compressed header")
        if not 1 <= T <= MAX_BIN_SIZE or w != index_width(T) or res8 or res16:
            raise CorruptStream("bad bin size, index width or reserved bytes")
        if not np.isfinite(scale) or scale < 0 or entry_count > n or (scale == 0) != (entry_count == 0):
            raise CorruptStream("bad scale or entry count")
        bins = (n + T - 1) // T
        raw_size = (bins + entry_count) * w
        frame.update(bin_size=T, index_width=w, scale=np.float32(scale), entry_count=entry_count)
    else:
        raw_size = n * DTYPE_SIZE[dtype]
    (stored_size,) = cur.unpack("<Q", "payload size")
    frame.update(offset=at, header=cur.pos - at, stored=stored_size)
    zstd_on = flags & FLAG_ZSTD
    if (not zstd_on and stored_size != raw_size) or (zstd_on and not 0 < stored_size < raw_size):
        raise CorruptStream("payload size does not match the header")
    stored = cur.take(stored_size, "payload")
    (checksum,) = cur.unpack("<I", "checksum")
    if xxhash.xxh64_intdigest(cur.data[at:cur.pos - 4]) & 0xFFFFFFFF != checksum:
        raise CorruptStream("checksum mismatch in frame at byte %d" % at)
    payload = stored
    if zstd_on:
        payload = zstandard.ZstdDecompressor().decompress(stored, max_output_size=raw_size)
        if len(payload) != raw_size:
            raise CorruptStream("zstd section does not decode to the raw size")
    if kind == KIND_PASSTHROUGH:
        frame["values"] = from_source_bytes(payload, dtype, n).reshape(shape)
        return frame
    words = np.frombuffer(payload, dtype="<u1" if w == 1 else "<u2").astype(np.int64)
    counts, entries = words[:bins], words[bins:]
    values = np.zeros(n, dtype=np.float32)
    e = 0
    for b in range(bins):
        length = min(T, n - b * T)
        if counts[b] > length:
            raise CorruptStream("bin count above bin length")
        previous = -1
        for _ in range(counts[b]):
            if e >= len(entries):
                raise CorruptStream("bin counts exceed entries")
            offset, code = entries[e] >> 2, entries[e] & 3
            if code not in (CODE_POSITIVE, CODE_NEGATIVE) or offset >= length or offset <= previous:
                raise CorruptStream("bad entry %d" % e)
            values[b * T + offset] = scale if code == CODE_POSITIVE else -scale
            previous = offset
            e += 1
    if e != len(entries):
        raise CorruptStream("entries left over")
    frame["values"] = values.reshape(shape)
    frame["bin_counts"] = counts.tolist()
    frame["entries"] = entries.tolist()
    return frame


def _varint(cur, what):
    try:
        value, cur.pos = coded.read_varint(cur.data, cur.pos, what)
    except coded.CorruptEntries as e:
        raise CorruptStream(str(e))
    return value


def _read_descriptor(cur, minor):
    (byte,) = cur.unpack("<B", "descriptor")
    kind, dtype_code = byte & 3, byte >> 2
    if kind not in (KIND_COMPRESSED, KIND_PASSTHROUGH) or dtype_code not in DTYPES:
        raise CorruptStream("bad kind or dtype")
    name_len = _varint(cur, "name length")
    if not 1 <= name_len <= 4096:
        raise CorruptStream("bad name length")
    name = cur.take(name_len, "name").decode("utf-8")
    if "\0" in name:
        raise CorruptStream("NUL in name")
    (rank,) = cur.unpack("<B", "rank")
    if rank > 8:
        raise CorruptStream("rank above 8")
    shape = [_varint(cur, "shape") for _ in range(rank)]
    n = 1
    for d in shape:
        n *= d
    if n > MAX_ELEMENTS:
        raise CorruptStream("too many elements")
    bin_size = None
    if kind == KIND_COMPRESSED:
        bin_size = _varint(cur, "bin size")
        if not 1 <= bin_size <= MAX_BIN_SIZE:
            raise CorruptStream("bad bin size")
    _check_dtype_version(DTYPES[dtype_code], CODED_MAJOR, minor)
    return (kind, DTYPES[dtype_code], name, shape, bin_size)


def _check_checksum(cur, at):
    (checksum,) = cur.unpack("<I", "checksum")
    if xxhash.xxh64_intdigest(cur.data[at:cur.pos - 4]) & 0xFFFFFFFF != checksum:
        raise CorruptStream("checksum mismatch in the record at byte %d" % at)


def read_layout(data):
    """The tensors of a layout file (a 2.0 stream whose first record is a full layout)."""
    cur = _Cursor(bytes(data))
    if cur.take(4, "magic") != STREAM_MAGIC:
        raise CorruptStream("not a format 2.0 stream")
    major, minor, _ = cur.unpack("<BBH", "stream header")
    if major != CODED_MAJOR:
        raise CorruptStream("not a format 2.0 stream")
    at = cur.pos
    if cur.take(2, "layout record") != bytes([RECORD_LAYOUT, LAYOUT_FULL]):
        raise CorruptStream("not a layout file")
    tensors = _read_layout_body(cur, minor)
    _check_checksum(cur, at)
    return tensors


def _read_layout_body(cur, minor):
    count = _varint(cur, "tensor count")
    if not 1 <= count <= 1 << 20:
        raise CorruptStream("bad layout tensor count")
    tensors = [_read_descriptor(cur, minor) for _ in range(count)]
    if len({t[2] for t in tensors}) != count:
        raise CorruptStream("a tensor name appears twice in the layout")
    return tensors


def _read_coded_stream(cur, agreed_layout, minor):
    frames, layout, last_index = 0, None, None
    while True:
        at = cur.pos
        (record,) = cur.unpack("<B", "record type")
        if record == RECORD_END:
            count = _varint(cur, "frame count")
            if count != frames:
                raise CorruptStream("end record declares %d frames, stream has %d" % (count, frames))
            return
        if record == RECORD_LAYOUT:
            if frames or layout is not None:
                raise CorruptStream("layout record after the first frame")
            (form,) = cur.unpack("<B", "layout form")
            if form == LAYOUT_FULL:
                layout = _read_layout_body(cur, minor)
            elif form == LAYOUT_REFERENCE:
                (hash64,) = cur.unpack("<Q", "layout hash")
                if agreed_layout is None or layout_hash(agreed_layout) != hash64:
                    raise CorruptStream("the stream refers to a layout that was not given")
                layout = agreed_layout
            else:
                raise CorruptStream("unknown layout form")
            _check_checksum(cur, at)
            continue
        if record not in (RECORD_FRAME, RECORD_ZSTD_FRAME):
            raise CorruptStream("unknown record type %d at byte %d" % (record, at))
        if layout is not None:
            index = (0 if last_index is None else last_index + 1) + _varint(cur, "tensor index")
            if index >= len(layout):
                raise CorruptStream("tensor index beyond the layout")
            kind, dtype, name, shape, bin_size = layout[index]
            _check_dtype_version(dtype, CODED_MAJOR, minor)
            last_index = index
        else:
            kind, dtype, name, shape, bin_size = _read_descriptor(cur, minor)
        zstd_on = record == RECORD_ZSTD_FRAME
        if zstd_on and kind == KIND_COMPRESSED:
            raise CorruptStream("zstd stage on a compressed frame")
        n = 1
        for d in shape:
            n *= d
        stored_size = _varint(cur, "payload size")
        if kind == KIND_PASSTHROUGH:
            raw_size = n * DTYPE_SIZE[dtype]
            if (not zstd_on and stored_size != raw_size) or (zstd_on and not 0 < stored_size < raw_size):
                raise CorruptStream("payload size does not match the header")
        header = cur.pos - at
        payload = cur.take(stored_size, "payload")
        _check_checksum(cur, at)
        frame = {"name": name, "dtype": dtype, "shape": shape, "kind": kind, "zstd": zstd_on, "offset": at,
                 "header": header, "stored": stored_size, "format": CODED_MAJOR}
        frames += 1
        if kind == KIND_PASSTHROUGH:
            if zstd_on:
                payload = zstandard.ZstdDecompressor().decompress(payload, max_output_size=raw_size)
                if len(payload) != raw_size:
                    raise CorruptStream("zstd section does not decode to the raw size")
            frame["values"] = from_source_bytes(payload, dtype, n).reshape(shape)
            yield frame
            continue
        pc = _Cursor(payload)
        entry_count = _varint(pc, "entry count")
        if entry_count > n:
            raise CorruptStream("entry count exceeds the element count")
        values = np.zeros(n, dtype=np.float32)
        counts = [0] * ((n + bin_size - 1) // bin_size)
        entries = []
        scale = np.float32(0)
        if entry_count == 0:
            if pc.pos != len(payload):
                raise CorruptStream("bytes after the entry count of an empty frame")
        else:
            (scale,) = pc.unpack("<f", "scale")
            scale = np.float32(scale)
            if not np.isfinite(scale) or scale <= 0:
                raise CorruptStream("scale is zero, negative or not finite")
            frame["entry_section"] = len(payload) - pc.pos
            frame["entry_coding"] = "rans" if payload[pc.pos] == coded.MODE_RANS else "rice"
            if frame["entry_coding"] == "rans" and pc.pos + 1 < len(payload):
                frame["interleave"] = payload[pc.pos + 1]
            try:
                positions, negatives = coded.decode_entries(payload[pc.pos:], entry_count, n,
                                                            coded.row_length(shape, n))
            except coded.CorruptEntries as e:
                raise CorruptStream("frame at byte %d: %s" % (at, e))
            for p, neg in zip(positions, negatives):
                values[p] = -scale if neg else scale
                counts[p // bin_size] += 1
                entries.append(((p % bin_size) << 2) | (CODE_NEGATIVE if neg else CODE_POSITIVE))
        frame.update(bin_size=bin_size, scale=scale, entry_count=entry_count, values=values.reshape(shape),
                     bin_counts=counts, entries=entries)
        yield frame


def main(argv):
    if len(argv) < 3 or argv[1] not in ("decode", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[2], "rb") as f:
        data = f.read()
    layout_file = argv[4] if argv[1] == "decode" and len(argv) > 4 else None
    try:
        agreed = read_layout(open(layout_file, "rb").read()) if layout_file else None
        frames = list(read_stream(data, agreed))
    except CorruptStream as e:
        print("%s: %s" % (argv[2], e), file=sys.stderr)
        return 3
    if argv[1] == "check":
        for fr in frames:
            print("%s %s %s entries=%s" % (fr["name"], fr["dtype"], fr["shape"], fr.get("entry_count", "-")))
        return 0
    np.savez(argv[3], **{fr["name"]: fr["values"] for fr in frames})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
