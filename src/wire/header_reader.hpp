#pragma once
// Reading record headers field by field from a ByteInput, keeping their bytes for the checksum.
#include <functional>
#include <string>
#include <vector>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"

namespace adacomp::wire {

// UTF-8 without NUL bytes, overlong forms or surrogates.
bool valid_utf8(const std::string& text);

class HeaderReader {
 public:
  // `label` names the record for errors ("frame 3 'fc1.weight' at byte 812"); it may grow as
  // fields are read.
  HeaderReader(ByteInput& input, std::vector<std::byte>& header, std::function<std::string()> label)
      : input_(input), header_(header), label_(std::move(label)) {}
  template <typename T>
  T take(const char* field) {
    const std::size_t old = header_.size();
    header_.resize(old + sizeof(T));
    input_.read_exact({header_.data() + old, sizeof(T)}, std::string(field) + " of " + label_());
    return load_le<T>(header_.data() + old);
  }
  std::string take_string(std::size_t size, const char* field) {
    const std::size_t old = header_.size();
    header_.resize(old + size);
    input_.read_exact({header_.data() + old, size}, std::string(field) + " of " + label_());
    return {reinterpret_cast<const char*>(header_.data() + old), size};
  }
  // A minimal LEB128 varint (wire format 2.0).
  std::uint64_t take_varint(const char* field) {
    const std::size_t start = header_.size();
    for (unsigned i = 0; i < 10; ++i) {
      const auto byte = take<std::uint8_t>(field);
      if (!(byte & 0x80)) break;
    }
    std::size_t pos = start;
    return read_varint(header_, pos, label_(), field);
  }
  const std::string label() const { return label_(); }

 private:
  ByteInput& input_;
  std::vector<std::byte>& header_;
  std::function<std::string()> label_;
};

}  // namespace adacomp::wire
