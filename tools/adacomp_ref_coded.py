"""Independent reference of the coded entry layout (format_spec/wire_format.md, section 14).

Written from the spec alone, element by element, with no speed in mind: adacomp_ref.py uses it to
read and write wire format 2.0 frames, and the tests use it to cross-check the C++ coder.
"""
import struct

PROB_BITS = 12
PROB_SCALE = 1 << PROB_BITS
RANS_LOW = 1 << 16
LITERAL_GAPS = 15
ALPHABET = LITERAL_GAPS + 2 * (63 - 4) + 2  # 135: gaps 1..15, then (exponent 4..63) x (mantissa bit)
MAX_INTERLEAVE = 32
RICE_MAX_ENTRIES = 256
MODE_RANS, MODE_RICE = 0, 1
NARROW_INTERLEAVE = 4
WIDE_ENTRIES = 1 << 15


def encoder_interleave(entries):
    """W as the encoder chooses it (wire_format.md, section 14.3)."""
    return NARROW_INTERLEAVE if entries < WIDE_ENTRIES else MAX_INTERLEAVE


class CorruptEntries(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# varints (unsigned LEB128, minimal)

def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data, pos, what):
    value, shift = 0, 0
    for i in range(10):
        if pos + i >= len(data):
            raise CorruptEntries("truncated varint in %s" % what)
        byte = data[pos + i]
        if i == 9 and byte > 1:
            raise CorruptEntries("varint in %s exceeds 64 bits" % what)
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise CorruptEntries("non-minimal varint in %s" % what)
            return value, pos + i + 1
    raise CorruptEntries("varint in %s exceeds 64 bits" % what)


# ---------------------------------------------------------------------------------------------
# gap symbols

def gap_symbol(gap):
    """(symbol, extra bit count, extra value) of a gap >= 1."""
    if gap <= LITERAL_GAPS:
        return gap - 1, 0, 0
    e = gap.bit_length() - 1
    m = (gap >> (e - 1)) & 1
    return LITERAL_GAPS + 2 * (e - 4) + m, e - 1, gap & ((1 << (e - 1)) - 1)


def gap_from_symbol(symbol, extra):
    if symbol < LITERAL_GAPS:
        return symbol + 1
    e = 4 + (symbol - LITERAL_GAPS) // 2
    m = (symbol - LITERAL_GAPS) % 2
    return (1 << e) | (m << (e - 1)) | extra


def extra_bits_of(symbol):
    return 0 if symbol < LITERAL_GAPS else 4 + (symbol - LITERAL_GAPS) // 2 - 1


def row_length(shape, n):
    if len(shape) >= 2 and shape[0] > 0:
        return n // shape[0]
    return max(n, 1)


def sign_contexts(positions, negatives, row):
    """Per entry: (context, flag); context 0 = same row as the previous entry, 1 = a new row."""
    out, previous_negative, previous_row = [], False, None
    for p, neg in zip(positions, negatives):
        r = p // row
        context = 0 if previous_row is not None and r == previous_row else 1
        out.append((context, int(neg != previous_negative)))
        previous_negative, previous_row = neg, r
    return out


# ---------------------------------------------------------------------------------------------
# bit streams (least significant bit first)

class BitWriter:
    def __init__(self):
        self.bits = []

    def put(self, value, count):
        for i in range(count):
            self.bits.append((value >> i) & 1)

    def to_bytes(self):
        out = bytearray((len(self.bits) + 7) // 8)
        for i, b in enumerate(self.bits):
            out[i // 8] |= b << (i % 8)
        return bytes(out)


class BitReader:
    def __init__(self, data, what):
        self.data, self.pos, self.what = data, 0, what

    def get(self, count):
        value = 0
        for i in range(count):
            if self.pos >= 8 * len(self.data):
                raise CorruptEntries("%s ends early" % self.what)
            value |= ((self.data[self.pos // 8] >> (self.pos % 8)) & 1) << i
            self.pos += 1
        return value

    def finish(self):
        if (self.pos + 7) // 8 != len(self.data):
            raise CorruptEntries("%s has %d bytes, its codes use %d" % (self.what, len(self.data),
                                                                         (self.pos + 7) // 8))
        if self.pos % 8 and self.data[-1] >> (self.pos % 8):
            raise CorruptEntries("%s: padding bits are not zero" % self.what)


# ---------------------------------------------------------------------------------------------
# frequency tables (normative: the encoder's bytes depend on them)

def normalize(counts):
    total = sum(counts)
    freqs = [0 if c == 0 else max(1, c * PROB_SCALE // total) for c in counts]
    s = sum(freqs)
    while s > PROB_SCALE:
        largest = max(range(len(freqs)), key=lambda i: (freqs[i], -i))
        freqs[largest] -= 1
        s -= 1
    if s < PROB_SCALE:
        most = max(range(len(counts)), key=lambda i: (counts[i], -i))
        freqs[most] += PROB_SCALE - s
    return freqs


def flag_frequency(zeros, total):
    if total == 0:
        return PROB_SCALE // 2
    return min(PROB_SCALE - 1, max(1, (zeros * PROB_SCALE + total // 2) // total))


# ---------------------------------------------------------------------------------------------
# rANS (32-bit states in [2^16, 2^32), 16-bit words, 12-bit probabilities)

def _rans_put(state, start, freq, words):
    if state >= ((RANS_LOW >> PROB_BITS) << 16) * freq:
        words.append(state & 0xFFFF)
        state >>= 16
    return ((state // freq) << PROB_BITS) + (state % freq) + start


def encode_rans(positions, negatives, row, interleave=None, initial_state=RANS_LOW):
    """interleave: the encoder's choice unless given; initial_state other than 2^16 only serves to
    forge invalid vectors."""
    E = len(positions)
    if interleave is None:
        interleave = encoder_interleave(E)
    symbols, extras = [], [BitWriter() for _ in range(interleave)]
    previous = -1
    for i, p in enumerate(positions):
        s, k, v = gap_symbol(p - previous)
        symbols.append(s)
        extras[i % interleave].put(v, k)
        previous = p
    counts = [0] * ALPHABET
    for s in symbols:
        counts[s] += 1
    size = max(symbols) + 1
    freqs = normalize(counts[:size])
    starts = [sum(freqs[:i]) for i in range(size)]
    flags = sign_contexts(positions, negatives, row)
    zeros, totals = [0, 0], [0, 0]
    for c, f in flags:
        totals[c] += 1
        zeros[c] += f == 0
    flag_freq = [flag_frequency(zeros[c], totals[c]) for c in (0, 1)]
    states = [initial_state] * interleave
    words = [[] for _ in range(interleave)]
    for i in range(E - 1, -1, -1):
        lane = i % interleave
        c, f = flags[i]
        if f == 0:
            states[lane] = _rans_put(states[lane], 0, flag_freq[c], words[lane])
        else:
            states[lane] = _rans_put(states[lane], flag_freq[c], PROB_SCALE - flag_freq[c], words[lane])
        s = symbols[i]
        states[lane] = _rans_put(states[lane], starts[s], freqs[s], words[lane])
    for w in words:
        w.reverse()
    extra_bytes = [x.to_bytes() for x in extras]
    out = bytearray([MODE_RANS, interleave]) + varint(size)
    for f in freqs:
        out += varint(f)
    out += struct.pack("<HH", flag_freq[0], flag_freq[1])
    out += b"".join(varint(len(w)) for w in words) + b"".join(varint(len(x)) for x in extra_bytes)
    out += b"".join(struct.pack("<I", s) for s in states)
    out += b"".join(struct.pack("<%dH" % len(w), *w) for w in words)
    return bytes(out + b"".join(extra_bytes))


def rice_bits(gaps, k):
    return sum(((g - 1) >> k) + 1 + k + 1 for g in gaps)


def encode_rice(positions, negatives):
    gaps = [p - q for p, q in zip(positions, [-1] + positions[:-1])]
    k = min(range(64), key=lambda k: (rice_bits(gaps, k), k))
    bits = BitWriter()
    for g, neg in zip(gaps, negatives):
        v = g - 1
        bits.put((1 << (v >> k)) - 1, v >> k)
        bits.put(0, 1)
        bits.put(v & ((1 << k) - 1), k)
        bits.put(int(neg), 1)
    return bytes([MODE_RICE, k]) + bits.to_bytes()


def encode_entries(positions, negatives, row):
    """The entries section of a coded frame (E >= 1): rANS, or Rice where it is not larger."""
    positions = [int(p) for p in positions]
    rans = encode_rans(positions, negatives, row)
    if len(positions) <= RICE_MAX_ENTRIES:
        rice = encode_rice(positions, negatives)
        if len(rice) <= len(rans):
            return rice
    return rans


# ---------------------------------------------------------------------------------------------
# decoding: every rule of the spec's decoder requirements for coded entries

def decode_entries(data, count, n, row):
    """(positions, negatives) of `count` >= 1 entries from the whole entries section `data`."""
    if len(data) < 2:
        raise CorruptEntries("entries section is truncated")
    mode = data[0]
    if mode == MODE_RICE:
        return _decode_rice(data, count, n)
    if mode != MODE_RANS:
        raise CorruptEntries("unknown entry coding mode %d" % mode)
    interleave = data[1]
    if not 1 <= interleave <= MAX_INTERLEAVE:
        raise CorruptEntries("interleave count %d is outside 1..32" % interleave)
    size, pos = read_varint(data, 2, "the gap table size")
    if not 1 <= size <= ALPHABET:
        raise CorruptEntries("gap table size %d is outside 1..%d" % (size, ALPHABET))
    freqs = []
    for _ in range(size):
        f, pos = read_varint(data, pos, "the gap table")
        if f > PROB_SCALE:
            raise CorruptEntries("gap table frequency %d exceeds 4096" % f)
        freqs.append(f)
    if sum(freqs) != PROB_SCALE or freqs[-1] == 0:
        raise CorruptEntries("gap table does not sum to 4096 or ends with a zero frequency")
    if pos + 4 > len(data):
        raise CorruptEntries("entries section is truncated")
    flag_freq = struct.unpack_from("<HH", data, pos)
    pos += 4
    if not all(1 <= f < PROB_SCALE for f in flag_freq):
        raise CorruptEntries("sign flag frequency outside 1..4095")
    word_counts, extra_sizes = [], []
    for _ in range(interleave):
        k, pos = read_varint(data, pos, "the word counts")
        word_counts.append(k)
    for _ in range(interleave):
        x, pos = read_varint(data, pos, "the extra-bit sizes")
        extra_sizes.append(x)
    needed = 4 * interleave + 2 * sum(word_counts) + sum(extra_sizes)
    if pos + needed > len(data):
        raise CorruptEntries("rANS states, words or extra bits are truncated")
    if pos + needed < len(data):
        raise CorruptEntries("bytes follow the last extra bits")
    states = list(struct.unpack_from("<%dI" % interleave, data, pos))
    pos += 4 * interleave
    if any(s < RANS_LOW for s in states):
        raise CorruptEntries("rANS state below 2^16")
    words = []
    for k in word_counts:
        words.append(struct.unpack_from("<%dH" % k, data, pos))
        pos += 2 * k
    extras = []
    for x in extra_sizes:
        extras.append(BitReader(data[pos:pos + x], "the extra bits"))
        pos += x
    starts = [sum(freqs[:i]) for i in range(size)]
    slot_symbol = []
    for s, f in enumerate(freqs):
        slot_symbol += [s] * f
    next_word = [0] * interleave

    def get(lane, symbol_of_slot, start_of, freq_of):
        x = states[lane]
        slot = x & (PROB_SCALE - 1)
        s = symbol_of_slot(slot)
        x = freq_of(s) * (x >> PROB_BITS) + slot - start_of(s)
        if x < RANS_LOW:
            if next_word[lane] >= word_counts[lane]:
                raise CorruptEntries("rANS stream ends early")
            x = (x << 16) | words[lane][next_word[lane]]
            next_word[lane] += 1
        states[lane] = x
        return s

    positions, negatives = [], []
    previous, negative, previous_row = -1, False, None
    for i in range(count):
        lane = i % interleave
        s = get(lane, lambda slot: slot_symbol[slot], lambda s: starts[s], lambda s: freqs[s])
        gap = gap_from_symbol(s, extras[lane].get(extra_bits_of(s)))
        p = previous + gap
        if p >= n:
            raise CorruptEntries("entry %d at element %d is beyond the tensor's %d elements" % (i, p, n))
        r = p // row
        c = 0 if previous_row is not None and r == previous_row else 1
        f0 = flag_freq[c]
        flip = get(lane, lambda slot: 0 if slot < f0 else 1, lambda b: 0 if b == 0 else f0,
                   lambda b: f0 if b == 0 else PROB_SCALE - f0)
        negative = negative != bool(flip)
        positions.append(p)
        negatives.append(negative)
        previous, previous_row = p, r
    if next_word != word_counts:
        raise CorruptEntries("rANS words left over")
    if any(s != RANS_LOW for s in states):
        raise CorruptEntries("rANS final states are not the initial state 2^16")
    for x in extras:
        x.finish()
    return positions, negatives


def _decode_rice(data, count, n):
    k = data[1]
    if k > 63:
        raise CorruptEntries("Rice parameter %d exceeds 63" % k)
    bits = BitReader(data[2:], "the Rice codes")
    positions, negatives, previous = [], [], -1
    for i in range(count):
        q = 0
        while bits.get(1):
            q += 1
            if (q << k) >= n:
                raise CorruptEntries("entry %d is beyond the tensor's %d elements" % (i, n))
        p = previous + 1 + ((q << k) | bits.get(k))
        if p >= n:
            raise CorruptEntries("entry %d at element %d is beyond the tensor's %d elements" % (i, p, n))
        positions.append(p)
        negatives.append(bool(bits.get(1)))
        previous = p
    bits.finish()
    return positions, negatives
