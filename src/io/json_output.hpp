#pragma once
// JSON helpers for --json outputs (schemas: format_spec/cli_json.md).
#include <cmath>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace adacomp {

using Json = nlohmann::ordered_json;

inline Json json_number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }
inline Json json_number(const std::optional<double>& value) { return value ? json_number(*value) : Json(nullptr); }

// The document as printed: names that are not valid UTF-8 (an .npz member may be named with any
// bytes) get U+FFFD for their bad bytes instead of failing the whole output.
inline std::string json_text(const Json& document) {
  return document.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace adacomp
