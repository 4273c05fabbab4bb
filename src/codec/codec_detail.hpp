#pragma once
// Pieces shared by the encoder, validate() and the fused decoder (library-internal).
#include <numeric>
#include <string>

#include "adacomp/codec.hpp"

namespace adacomp::detail {

// Bin size, number of bin headers, scale: what validate() checks before walking the entries.
void validate_header(const SparseTernary& sparse, const std::string& context);

// Index of the first entry of `bin`: the sum of the counts of the bins before it.
inline std::size_t first_entry_of(const SparseTernary& sparse, std::size_t bin) {
  return std::accumulate(sparse.bin_counts.begin(), sparse.bin_counts.begin() + static_cast<std::ptrdiff_t>(bin),
                         std::size_t{0});
}

}  // namespace adacomp::detail
