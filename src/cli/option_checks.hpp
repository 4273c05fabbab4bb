#pragma once
// Checks of numeric option values, run by CLI11 on the text before it is converted, so that a
// negative count never wraps around and NaN or infinity never passes for a number. A failed check
// is a usage error (exit 2) naming the option: "--learners: must be an integer from 1 to ..., got '0'".
#include <cstdint>
#include <limits>

#include <CLI/CLI.hpp>

namespace adacomp::cli {

// Decimal digits only (no sign), from `low` to `high`.
CLI::Validator integer_from(std::uint64_t low, std::uint64_t high = std::numeric_limits<std::uint64_t>::max());

// A finite number from `low` to `high`; with `high_open`, below `high`.
CLI::Validator number_from(double low, double high, bool high_open = false);

// A finite number above `low`.
CLI::Validator number_above(double low);

}  // namespace adacomp::cli
