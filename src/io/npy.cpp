// Strict .npy reader and writer (NEP 1, numpy/lib/format.py). Written here rather than using
// xtensor's xnpy.hpp, which accepts truncated data and misreads some header lengths
// (field notes, "Library facts and pitfalls").
#include <cctype>
#include <charconv>
#include <cstring>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmanipulation.hpp>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "io/tensor_layout.hpp"

namespace adacomp {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kMaxHeaderBytes = 1 << 20;

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
  std::size_t data_offset = 0;
};

// Parses the Python-literal dict of the header: exactly the keys descr, fortran_order and shape,
// in any order, each once.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string context) : text_(text), context_(std::move(context)) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      if (key == "descr" && !seen_descr) {
        header.descr = parse_string();
        seen_descr = true;
      } else if (key == "fortran_order" && !seen_fortran) {
        header.fortran_order = parse_bool();
        seen_fortran = true;
      } else if (key == "shape" && !seen_shape) {
        header.shape = parse_shape();
        seen_shape = true;
      } else {
        fail("unexpected or repeated header key '" + key + "'");
      }
      skip_separator('}', "in the header dict");
    }
    ++pos_;
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\0')) ++pos_;
    if (pos_ != text_.size()) fail("unexpected characters after the header dict");
    if (!seen_descr || !seen_fortran || !seen_shape)
      fail("the header dict lacks one of 'descr', 'fortran_order', 'shape'");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail_input(context_ + ": invalid .npy header: " + what); }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  // After an item of a dict or tuple: a comma, or the closing character (left for the caller).
  void skip_separator(char close, const char* where) {
    skip_space();
    if (peek() == ',')
      ++pos_;
    else if (peek() != close)
      fail(std::string("expected ',' or '") + close + "' " + where);
  }

  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    if (value.find('\\') != std::string::npos) fail("escape sequences are not supported");
    pos_ = end + 1;
    return value;
  }
  bool parse_bool() {
    skip_space();
    if (text_.substr(pos_, 4) == "True") return pos_ += 4, true;
    if (text_.substr(pos_, 5) == "False") return pos_ += 5, false;
    fail("fortran_order must be True or False");
  }
  std::vector<std::uint64_t> parse_shape() {
    expect('(');
    std::vector<std::uint64_t> shape;
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("shape must be a tuple of non-negative integers");
      std::uint64_t value = 0;
      const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), value);
      if (ec != std::errc()) fail("shape dimension out of range");
      pos_ = static_cast<std::size_t>(end - text_.data());
      shape.push_back(value);
      if (shape.size() > kMaxRank) fail("rank above the limit of 8");
      skip_separator(')', "in shape");
    }
    ++pos_;
    return shape;
  }

  std::string_view text_;
  std::string context_;
  std::size_t pos_ = 0;
};

// Magic, version and the declared header length: prefix + header text.
std::size_t header_size(std::span<const std::byte> bytes, const std::string& context) {
  if (bytes.size() < kMagicSize + 4 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0)
    fail_input(context + ": not a .npy file (bad magic)");
  const auto major = static_cast<std::uint8_t>(bytes[6]);
  const auto minor = static_cast<std::uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    fail_input(context + ": unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
  std::size_t prefix = 10;
  std::size_t header_length = load_le<std::uint16_t>(bytes.data() + 8);
  if (major >= 2) {
    if (bytes.size() < 12) fail_input(context + ": truncated .npy header");
    prefix = 12;
    header_length = load_le<std::uint32_t>(bytes.data() + 8);
  }
  if (header_length > kMaxHeaderBytes)
    fail_input(context + ": .npy header length " + std::to_string(header_length) + " exceeds 1 MiB");
  return prefix + header_length;
}

NpyHeader parse_header(std::span<const std::byte> bytes, const std::string& context) {
  const std::size_t size = header_size(bytes, context);
  const std::size_t prefix = static_cast<std::uint8_t>(bytes[6]) >= 2 ? 12 : 10;
  const std::size_t header_length = size - prefix;
  if (bytes.size() < size)
    fail_input(context + ": truncated .npy header (" + std::to_string(header_length) + " bytes declared, " +
               std::to_string(bytes.size() - prefix) + " present)");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + prefix), header_length);
  if (text.empty() || text.back() != '\n') fail_input(context + ": .npy header does not end with a newline");
  NpyHeader header = HeaderParser(text.substr(0, text.size() - 1), context).parse();
  header.data_offset = size;
  return header;
}

struct ElementType {
  DType dtype;
  bool big_endian;
};

ElementType element_type(const std::string& descr, std::optional<DType> void_dtype, const std::string& context) {
  if (descr == "<f4") return {DType::f32, false};
  if (descr == ">f4") return {DType::f32, true};
  if (descr == "<f2") return {DType::f16, false};
  if (descr == ">f2") return {DType::f16, true};
  if (descr == "|V2" || descr == "<V2" || descr == "V2") {
    if (void_dtype == DType::bf16) return {DType::bf16, false};
    fail_input(context + ": untyped 2-byte elements ('" + descr +
               "'); if they are bfloat16 (as ml_dtypes saves them), pass --dtype bf16");
  }
  if (descr == "|V1" || descr == "<V1" || descr == "V1") {
    if (void_dtype && is_fp8(*void_dtype)) return {*void_dtype, false};
    fail_input(context + ": untyped 1-byte elements ('" + descr +
               "'); if they are FP8 (as ml_dtypes saves them), pass --dtype f8e5m2, f8e4m3 or f8e4m3b11");
  }
  if (descr == "<f8" || descr == ">f8")
    fail_input(context + ": dtype float64 ('" + descr +
               "') is not supported; adacomp reads float32, float16 and bfloat16 (convert with .astype(np.float32))");
  fail_input(context + ": unsupported dtype '" + descr +
             "'; adacomp reads float32 '<f4', float16 '<f2', bfloat16 '|V2' and FP8 '|V1'");
}

std::string shape_tuple(const std::vector<std::uint64_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

}  // namespace

namespace detail {

std::size_t npy_header_size(std::span<const std::byte> first_bytes, const std::string& source) {
  return header_size(first_bytes, source);
}

NpyLayout parse_npy_layout(std::span<const std::byte> header_bytes, const std::string& source,
                           std::optional<DType> void_dtype) {
  const NpyHeader header = parse_header(header_bytes, source);
  const ElementType type = element_type(header.descr, void_dtype, source);
  NpyLayout layout;
  layout.dtype = type.dtype;
  layout.big_endian = type.big_endian;
  layout.fortran_order = header.fortran_order;
  layout.shape = header.shape;
  layout.element_count = checked_element_count(header.shape, source);
  layout.data_bytes = layout.element_count * dtype_size(type.dtype);
  layout.data_offset = header.data_offset;
  return layout;
}

void check_npy_data_size(const NpyLayout& layout, std::uint64_t present, const std::string& source) {
  if (present < layout.data_bytes)
    fail_input(source + ": truncated .npy data (" + std::to_string(layout.data_bytes) + " bytes expected from shape " +
               shape_string(layout.shape) + ", " + std::to_string(present) + " present)");
  if (present > layout.data_bytes)
    fail_input(source + ": " + std::to_string(present - layout.data_bytes) + " unexpected bytes after the .npy data");
}

Tensor make_npy_tensor(const NpyLayout& layout, const std::string& name) {
  std::vector<std::uint64_t> stored_shape = layout.shape;
  if (layout.fortran_order) std::reverse(stored_shape.begin(), stored_shape.end());
  return make_tensor(name, layout.dtype, stored_shape);
}

void decode_npy_data(const NpyLayout& layout, std::byte* data, std::size_t bytes, float* dst) {
  const std::size_t width = dtype_size(layout.dtype);
  if (layout.big_endian)
    for (std::size_t i = 0; i < bytes; i += width) std::reverse(data + i, data + i + width);
  decode_elements(data, bytes / width, layout.dtype, dst);
}

void finish_npy_tensor(const NpyLayout& layout, Tensor& tensor) {
  if (layout.fortran_order && layout.shape.size() > 1) {
    // Column-major data read with reversed dims is the transpose of the array: transpose back.
    xt::xarray<float> c_order = xt::transpose(tensor.values);
    tensor.values = std::move(c_order);
  }
}

}  // namespace detail

Tensor parse_npy(std::span<const std::byte> bytes, const std::string& source, const std::string& name,
                 std::optional<DType> void_dtype) {
  const detail::NpyLayout layout = detail::parse_npy_layout(bytes, source, void_dtype);
  detail::check_npy_data_size(layout, bytes.size() - layout.data_offset, source);
  Tensor tensor = detail::make_npy_tensor(layout, name);
  const std::byte* data = bytes.data() + layout.data_offset;
  if (layout.big_endian) {
    std::vector<std::byte> swapped(data, data + layout.data_bytes);
    detail::decode_npy_data(layout, swapped.data(), swapped.size(), tensor.values.data());
  } else {
    decode_elements(data, layout.element_count, layout.dtype, tensor.values.data());
  }
  detail::finish_npy_tensor(layout, tensor);
  return tensor;
}

std::vector<std::byte> npy_header(const Tensor& tensor) {
  const char* descr = tensor.dtype == DType::f32   ? "<f4"
                      : tensor.dtype == DType::f16 ? "<f2"
                      : is_fp8(tensor.dtype)       ? "|V1"
                                                   : "|V2";
  std::string dict =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape_tuple(tensor.shape()) + ", }";
  // Pad with spaces and a final newline so that the data starts on a 64-byte boundary.
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  const std::size_t total = ((prefix + dict.size() + 1 + 63) / 64) * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  std::string head(kMagic, kMagicSize);
  head += static_cast<char>(v2 ? 2 : 1);
  head += '\0';
  for (std::size_t i = 0; i < (v2 ? 4u : 2u); ++i) head += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
  head += dict;
  const auto* bytes = reinterpret_cast<const std::byte*>(head.data());
  return {bytes, bytes + head.size()};
}

std::vector<std::byte> serialize_npy(const Tensor& tensor) {
  std::vector<std::byte> out = npy_header(tensor);
  const std::size_t old = out.size();
  out.resize(old + tensor.size() * dtype_size(tensor.dtype));
  encode_elements(tensor.values.data(), tensor.size(), tensor.dtype, out.data() + old);
  return out;
}

}  // namespace adacomp
