#pragma once
// The codec options that encode and replay share: --bin-size, --scale-factor, --exclude, --zstd,
// --entries, --layout.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "adacomp/encoder.hpp"

namespace adacomp::cli {

struct CodecOptions {
  std::vector<std::string> bin_sizes;
  double scale_factor = kDefaultScaleFactor;
  std::vector<std::string> exclude;
  int zstd_level = 0;
  std::string entries = "coded";
  std::string layout;  // a layout file to agree on, or to write when it does not exist
};

void add_codec_options(CLI::App& app, CodecOptions& options);
// Only the per-tensor rules (--bin-size, --exclude), for commands that describe tensors.
void add_tensor_rule_options(CLI::App& app, CodecOptions& options);
// Validates and converts; throws Error(usage).
EncodeSettings make_encode_settings(const CodecOptions& options);

}  // namespace adacomp::cli
