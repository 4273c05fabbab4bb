#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace adacomp {

// Which bin size T each tensor gets: the last matching `GLOB=N` rule, else the last plain `N`,
// else the default by rank (codec.hpp, default_bin_size). Globs are fnmatch(3) patterns on the
// tensor name, `*` matching dots too.
class BinSizePolicy {
 public:
  // Accepts "N" or "GLOB=N" with 1 <= N <= 16384; throws Error(usage) otherwise.
  void add_rule(const std::string& text);
  std::uint32_t bin_size_for(const std::string& tensor_name, std::size_t rank) const;

 private:
  std::optional<std::uint32_t> all_;
  std::vector<std::pair<std::string, std::uint32_t>> globs_;
};

// fnmatch(3) without FNM_PATHNAME: true if any pattern matches.
bool matches_any_glob(const std::vector<std::string>& globs, const std::string& name);

}  // namespace adacomp
