#pragma once
// Checks shared by validate() and the fused decoder (library-internal).
#include <string>

#include "adacomp/codec.hpp"

namespace adacomp::detail {

// Bin size, number of bin headers, scale: what validate() checks before walking the entries.
void validate_header(const SparseTernary& sparse, const std::string& context);

}  // namespace adacomp::detail
