#pragma once
// JSON helpers for --json outputs (schemas: format_spec/cli_json.md).
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

namespace adacomp::cli {

using Json = nlohmann::ordered_json;

inline Json json_number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }
inline Json json_number(const std::optional<double>& value) { return value ? json_number(*value) : Json(nullptr); }

}  // namespace adacomp::cli
