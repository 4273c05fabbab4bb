#include "adacomp/compare.hpp"

#include <cstring>
#include <map>
#include <sstream>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"

namespace adacomp {

namespace {

bool is_stream(std::span<const std::byte> bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), wire::kStreamMagic.data(), 4) == 0;
}

template <typename T>
std::string text_of(const T& value) {
  std::ostringstream out;
  out.precision(9);
  out << value;
  return out.str();
}

template <typename T>
void compare_field(std::vector<std::string>& out, const char* field, const T& a, const T& b) {
  if (!(a == b)) out.push_back(std::string(field) + " " + text_of(a) + " vs " + text_of(b));
}

// Global indices (bin * T + offset) with their codes, in increasing order.
std::vector<std::pair<std::uint64_t, std::uint16_t>> selected(const SparseTernary& sparse) {
  std::vector<std::pair<std::uint64_t, std::uint16_t>> out;
  out.reserve(sparse.entries.size());
  std::size_t e = 0;
  for (std::size_t bin = 0; bin < sparse.bin_counts.size(); ++bin)
    for (std::uint16_t c = 0; c < sparse.bin_counts[bin]; ++c, ++e)
      out.emplace_back(static_cast<std::uint64_t>(bin) * sparse.bin_size + (sparse.entries[e] >> 2),
                       sparse.entries[e] & 3u);
  return out;
}

}  // namespace

DiffInput load_diff_input(const std::string& path, const std::string& single_name, const wire::Layout* layout,
                          DType void_dtype) {
  DiffInput input;
  input.source = path == "-" ? std::string(FileInput::kStdinName) : path;
  const std::vector<std::byte> bytes = read_all(path);
  input.is_stream = is_stream(bytes);
  if (!input.is_stream) {
    TensorReadOptions options;
    options.dtype = void_dtype;
    options.single_name = single_name;
    input.unnamed = sniff_format(bytes) == TensorFormat::npy;
    for (Tensor& tensor : parse_tensor_file(bytes, input.source, options))
      input.tensors.push_back({std::move(tensor), {}, {}});
    return input;
  }
  MemoryInput memory(bytes, input.source);
  wire::StreamReader reader(memory);
  reader.set_agreed_layout(layout);
  while (auto frame = reader.next()) {
    wire::DecodedFrame decoded = wire::decode_frame_with_sparse(*frame, input.source);
    input.tensors.push_back({std::move(decoded.tensor), frame->info, std::move(decoded.sparse)});
  }
  return input;
}

IndexOverlap index_overlap(const SparseTernary& a, const SparseTernary& b) {
  const auto sa = selected(a);
  const auto sb = selected(b);
  IndexOverlap overlap;
  std::size_t i = 0, j = 0;
  while (i < sa.size() || j < sb.size()) {
    if (j == sb.size() || (i < sa.size() && sa[i].first < sb[j].first)) {
      ++overlap.only_a, ++i;
    } else if (i == sa.size() || sb[j].first < sa[i].first) {
      ++overlap.only_b, ++j;
    } else {
      ++overlap.common;
      overlap.sign_disagreements += sa[i].second != sb[j].second;
      ++i, ++j;
    }
  }
  const std::uint64_t united = overlap.common + overlap.only_a + overlap.only_b;
  overlap.jaccard = united ? static_cast<double>(overlap.common) / static_cast<double>(united) : 1.0;
  return overlap;
}

namespace {

TensorDiff diff_tensors(const DiffTensor& ta, const DiffTensor& tb) {
  TensorDiff d;
  d.name = ta.tensor.name;
  d.shapes_match = ta.tensor.shape() == tb.tensor.shape();
  if (!d.shapes_match)
    d.differences.push_back("shape " + shape_string(ta.tensor.shape()) + " vs " + shape_string(tb.tensor.shape()));
  compare_field(d.differences, "dtype", std::string(dtype_name(ta.tensor.dtype)),
                std::string(dtype_name(tb.tensor.dtype)));
  if (ta.frame && tb.frame) {
    compare_field(d.differences, "kind",
                  std::string(ta.frame->kind == wire::FrameKind::compressed ? "compressed" : "passthrough"),
                  std::string(tb.frame->kind == wire::FrameKind::compressed ? "compressed" : "passthrough"));
    if (ta.sparse && tb.sparse) {
      compare_field(d.differences, "bin_size", ta.frame->bin_size, tb.frame->bin_size);
      compare_field(d.differences, "index_width", unsigned{ta.frame->index_width}, unsigned{tb.frame->index_width});
      compare_field(d.differences, "scale", ta.frame->scale, tb.frame->scale);
      if (d.shapes_match) d.overlap = index_overlap(*ta.sparse, *tb.sparse);
    }
  }
  if (d.shapes_match) {
    ErrorStats stats;
    stats.add(ta.tensor.flat(), tb.tensor.flat());
    d.values = stats;
  }
  const bool same_sets =
      !d.overlap || (d.overlap->only_a == 0 && d.overlap->only_b == 0 && d.overlap->sign_disagreements == 0);
  d.identical = d.differences.empty() && d.values && d.values->max_abs_diff == 0.0 && same_sets;
  return d;
}

}  // namespace

DiffResult diff_inputs(const DiffInput& a, const DiffInput& b) {
  DiffResult result;
  if ((a.unnamed || b.unnamed) && a.tensors.size() == 1 && b.tensors.size() == 1) {
    TensorDiff d = diff_tensors(a.tensors[0], b.tensors[0]);
    d.name = a.unnamed && !b.unnamed ? b.tensors[0].tensor.name : a.tensors[0].tensor.name;
    result.tensors.push_back(std::move(d));
    return result;
  }
  std::map<std::string, const DiffTensor*> in_b;
  for (const auto& t : b.tensors) in_b.emplace(t.tensor.name, &t);
  std::map<std::string, bool> matched;
  for (const auto& ta : a.tensors) {
    const auto it = in_b.find(ta.tensor.name);
    if (it == in_b.end()) {
      result.only_in_a.push_back(ta.tensor.name);
      continue;
    }
    matched[ta.tensor.name] = true;
    result.tensors.push_back(diff_tensors(ta, *it->second));
  }
  for (const auto& tb : b.tensors)
    if (!matched.count(tb.tensor.name)) result.only_in_b.push_back(tb.tensor.name);
  return result;
}

}  // namespace adacomp
