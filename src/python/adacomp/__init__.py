"""adacomp: AdaComp gradient compression (adaptive residual gradient compression) and its wire format.

    import adacomp
    enc = adacomp.Encoder(bin_size={"*.weight": 500}, scale_factor=2.0)
    data = enc.encode({"fc.weight": grad})          # bytes: one wire stream, one frame per tensor
    adacomp.decode(data)                            # {"fc.weight": float32 array}
    adacomp.inspect(data)                           # [{"name": "fc.weight", "entries": ...}, ...]
    layout = enc.layout(tensors)                    # agreed once: enc.encode(t, layout=layout) then
                                                    # carries only its hash; decode(data, layout=layout)

The bytes are the CLI's: `adacomp inspect` and `adacomp decode` read what this module writes.
Errors raise adacomp.Error, whose `kind` ("usage", "invalid_input", "io", "internal") and
`exit_code` are the CLI's (README, "Exit codes"). The GIL is released while coding.
"""
from ._adacomp import FORMAT_VERSION, Error, __version__, _view_address, average, decode, inspect, layout_hash
from ._adacomp import _Encoder

__all__ = ["Encoder", "Error", "decode", "inspect", "average", "layout_hash", "as_buffer", "FORMAT_VERSION", "__version__"]


def as_buffer(name, value):
    """(buffer, dtype) of a NumPy array or CPU torch tensor, as the encoder reads it, without a copy.

    float32 NumPy arrays and torch tensors are read in place; torch float16 and bfloat16 tensors
    are accepted (the frames record the source dtype). Anything else raises adacomp.Error naming
    the tensor: adacomp never converts or copies silently.
    """
    module = type(value).__module__
    if module.startswith("torch"):
        import torch

        if value.device.type != "cpu":
            raise _usage_error("tensor '%s' is on %s; adacomp reads CPU tensors" % (name, value.device))
        value = value.detach()
        if value.dtype == torch.bfloat16:
            return value.view(torch.int16).numpy(), "bf16"
        if value.dtype == torch.float16:
            return value.numpy(), "f16"
        return value.numpy(), "f32"
    dtype = getattr(value, "dtype", None)
    if dtype is not None and str(dtype) == "float16":
        return value, "f16"
    return value, "f32"


def _usage_error(message):
    error = Error(message)
    error.kind, error.exit_code = "usage", 2
    return error


class Encoder(_Encoder):
    """One learner's AdaComp encoder, holding a residue per tensor name.

    Settings as the CLI's: bin_size (N, "GLOB=N", {GLOB: N} or a list of these; default by rank:
    50 for conv kernels and vectors, 500 for matrices), scale_factor (1 to 4), entries ("coded",
    format 2.0, or "fixed", format 1.0), zstd (level, 0 = none), exclude (globs of tensors sent
    uncompressed), threads (per tensor; the bytes are the same).
    """

    def encode(self, tensors, layout=None):
        """One wire stream of `tensors` (a mapping name -> array or tensor, in frame order), updating
        the residues. `layout`: a layout file's bytes (from layout()) agreed with the receivers: the
        stream then carries only its hash, and decode(), inspect() and average() need it too.
        After an error the residues cannot be trusted and the encoder refuses to go on until
        reset() or load_state_dict()."""
        return self._encode(self._items(tensors), layout)

    def layout(self, tensors):
        """The layout file's bytes (names, dtypes, shapes, bin sizes) these settings give `tensors`:
        what `adacomp layout` writes and `--layout FILE` reads."""
        return self._layout_for(self._items(tensors))

    @staticmethod
    def _items(tensors):
        return [(name,) + as_buffer(name, value) for name, value in tensors.items()]

    def __repr__(self):
        return "adacomp.Encoder(scale_factor=%g, entries=%r, zstd=%d, exclude=%r, threads=%d)" % (
            self.scale_factor, self.entries, self.zstd, self.exclude, self.threads)
