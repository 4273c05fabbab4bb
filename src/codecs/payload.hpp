#pragma once
// Little-endian fields of the comparison payloads (codecs-internal; format_spec/codecs.md).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace adacomp::codecs::detail {

static_assert(std::endian::native == std::endian::little, "payload fields are stored as they lie in memory");

template <typename T>
void put(std::vector<std::byte>& out, T value) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

// `value` at `offset` of a payload sized beforehand.
template <typename T>
void put_at(std::span<std::byte> out, std::size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(T));
}

template <typename T>
T get(std::span<const std::byte> in, std::size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(T));
  return value;
}

}  // namespace adacomp::codecs::detail
