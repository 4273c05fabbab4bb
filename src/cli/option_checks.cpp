#include "option_checks.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

namespace adacomp::cli {

namespace {

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// The whole text as a finite double, or nullopt.
std::optional<double> finite_value(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || stop != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

CLI::Validator integer_from(std::uint64_t low, std::uint64_t high) {
  const std::string range = high == std::numeric_limits<std::uint64_t>::max()
                                ? "an integer of at least " + std::to_string(low)
                                : "an integer from " + std::to_string(low) + " to " + std::to_string(high);
  return CLI::Validator(
      [low, high, range](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, ec] = std::from_chars(text.data(), end, value);
        if (text.empty() || ec != std::errc() || stop != end || value < low || value > high)
          return "must be " + range + ", got '" + text + "'";
        return {};
      },
      "INT");
}

CLI::Validator number_from(double low, double high, bool high_open) {
  const std::string range =
      "a finite number from " + number_text(low) + (high_open ? " up to (not including) " : " to ") + number_text(high);
  return CLI::Validator(
      [low, high, high_open, range](std::string& text) -> std::string {
        const auto value = finite_value(text);
        if (!value || *value < low || *value > high || (high_open && *value == high))
          return "must be " + range + ", got '" + text + "'";
        return {};
      },
      "NUMBER");
}

CLI::Validator number_above(double low) {
  const std::string range = "a finite number above " + number_text(low);
  return CLI::Validator(
      [low, range](std::string& text) -> std::string {
        const auto value = finite_value(text);
        if (!value || *value <= low) return "must be " + range + ", got '" + text + "'";
        return {};
      },
      "NUMBER");
}

}  // namespace adacomp::cli
