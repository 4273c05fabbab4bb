#pragma once
// The codec options that encode and replay share: --bin-size, --scale-factor, --exclude, --zstd.
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
};

void add_codec_options(CLI::App& app, CodecOptions& options);
// Validates and converts; throws Error(usage).
EncodeSettings make_encode_settings(const CodecOptions& options);

}  // namespace adacomp::cli
