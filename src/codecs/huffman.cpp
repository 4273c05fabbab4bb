#include "codecs/huffman.hpp"

#include <algorithm>
#include <queue>

#include "adacomp/error.hpp"

namespace adacomp::codecs::detail {

namespace {

std::vector<std::uint8_t> unlimited_lengths(std::span<const std::uint64_t> frequencies) {
  struct Node {
    std::uint64_t weight;
    std::size_t id;  // creation order: the tie-break
  };
  auto heavier = [](const Node& a, const Node& b) {
    return a.weight > b.weight || (a.weight == b.weight && a.id > b.id);
  };
  std::priority_queue<Node, std::vector<Node>, decltype(heavier)> queue(heavier);
  std::vector<std::size_t> parent;
  std::size_t used = 0;
  for (std::size_t s = 0; s < frequencies.size(); ++s) {
    parent.push_back(SIZE_MAX);
    if (frequencies[s]) {
      queue.push({frequencies[s], s});
      ++used;
    }
  }
  std::vector<std::uint8_t> lengths(frequencies.size(), 0);
  if (used == 1) {
    for (std::size_t s = 0; s < frequencies.size(); ++s)
      if (frequencies[s]) lengths[s] = 1;
    return lengths;
  }
  while (queue.size() > 1) {
    const Node a = queue.top();
    queue.pop();
    const Node b = queue.top();
    queue.pop();
    const std::size_t id = parent.size();
    parent.push_back(SIZE_MAX);
    parent[a.id] = parent[b.id] = id;
    queue.push({a.weight + b.weight, id});
  }
  for (std::size_t s = 0; s < frequencies.size(); ++s) {
    if (!frequencies[s]) continue;
    unsigned depth = 0;
    for (std::size_t at = s; parent[at] != SIZE_MAX; at = parent[at]) ++depth;
    lengths[s] = static_cast<std::uint8_t>(std::min(depth, 255u));
  }
  return lengths;
}

}  // namespace

std::vector<std::uint8_t> huffman_lengths(std::span<const std::uint64_t> frequencies) {
  std::vector<std::uint64_t> weights(frequencies.begin(), frequencies.end());
  while (true) {
    std::vector<std::uint8_t> lengths = unlimited_lengths(weights);
    if (lengths.empty() || *std::max_element(lengths.begin(), lengths.end()) <= kLongestCode) return lengths;
    for (auto& w : weights)
      if (w) w = (w + 1) / 2;
  }
}

CanonicalCode::CanonicalCode(std::span<const std::uint8_t> lengths, const std::string& what)
    : lengths_(lengths.begin(), lengths.end()), codes_(lengths.size(), 0) {
  first_code_.assign(kLongestCode + 2, 0);
  count_.assign(kLongestCode + 2, 0);
  first_index_.assign(kLongestCode + 2, 0);
  std::uint64_t kraft = 0;  // in units of 2^-kLongestCode
  for (std::size_t s = 0; s < lengths_.size(); ++s) {
    if (lengths_[s] > kLongestCode)
      fail_input(what + ": symbol " + std::to_string(s) + " has a code of " + std::to_string(lengths_[s]) +
                 " bits, above " + std::to_string(kLongestCode));
    if (lengths_[s]) {
      ++count_[lengths_[s]];
      kraft += std::uint64_t{1} << (kLongestCode - lengths_[s]);
    }
  }
  if (kraft == 0) fail_input(what + ": no symbol has a code");
  if (kraft > (std::uint64_t{1} << kLongestCode))
    fail_input(what + ": the code lengths are no prefix code (Kraft sum above 1)");
  std::uint32_t code = 0, index = 0;
  for (unsigned len = 1; len <= kLongestCode; ++len) {
    first_code_[len] = code;
    first_index_[len] = index;
    code = (code + count_[len]) << 1;
    index += count_[len];
  }
  sorted_.resize(index);
  std::vector<std::uint32_t> next(kLongestCode + 2, 0);
  for (std::size_t s = 0; s < lengths_.size(); ++s) {
    const unsigned len = lengths_[s];
    if (!len) continue;
    codes_[s] = first_code_[len] + next[len];
    sorted_[first_index_[len] + next[len]] = static_cast<std::uint32_t>(s);
    ++next[len];
  }
}

long CanonicalCode::decode(std::span<const std::byte> stream, std::size_t& at, std::size_t available) const {
  std::uint32_t code = 0;
  for (unsigned len = 1; len <= kLongestCode; ++len) {
    if (at >= available) return -1;
    code = (code << 1) | packed_field(stream, at++, 1);
    if (code - first_code_[len] < count_[len] && code >= first_code_[len])
      return sorted_[first_index_[len] + code - first_code_[len]];
  }
  return -1;
}

}  // namespace adacomp::codecs::detail
