#include "adacomp/bin_size_policy.hpp"

#include <charconv>

#include <fnmatch.h>

#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"

namespace adacomp {

static std::uint32_t parse_bin_size(const std::string& digits, const std::string& whole) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value < 1 || value > kMaxBinSize)
    fail_usage("--bin-size '" + whole + "': the bin size must be an integer from 1 to " + std::to_string(kMaxBinSize));
  return static_cast<std::uint32_t>(value);
}

void BinSizePolicy::add_rule(const std::string& text) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos) {
    all_ = parse_bin_size(text, text);
    return;
  }
  if (eq == 0) fail_usage("--bin-size '" + text + "': the glob before '=' is empty");
  globs_.emplace_back(text.substr(0, eq), parse_bin_size(text.substr(eq + 1), text));
}

std::uint32_t BinSizePolicy::bin_size_for(const std::string& tensor_name, std::size_t rank) const {
  for (auto it = globs_.rbegin(); it != globs_.rend(); ++it)
    if (::fnmatch(it->first.c_str(), tensor_name.c_str(), 0) == 0) return it->second;
  return all_ ? *all_ : default_bin_size(rank);
}

bool matches_any_glob(const std::vector<std::string>& globs, const std::string& name) {
  for (const auto& glob : globs)
    if (::fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

}  // namespace adacomp
