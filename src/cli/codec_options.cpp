#include "codec_options.hpp"

#include "adacomp/error.hpp"

namespace adacomp::cli {

void add_codec_options(CLI::App& app, CodecOptions& options) {
  app.add_option("--bin-size", options.bin_sizes,
                 "Bin size T for all tensors (N) or for tensors matching a glob (GLOB=N); repeatable")
      ->type_name("[GLOB=]N")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--scale-factor", options.scale_factor, "Scale factor k of H = r + k*g, 1 to 4")
      ->default_val(kDefaultScaleFactor);
  app.add_option("--exclude", options.exclude, "Send tensors matching GLOB uncompressed; repeatable")
      ->type_name("GLOB")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--zstd{3}", options.zstd_level, "zstd stage over each frame's payload (level 1-19, default 3)")
      ->type_name("[=LEVEL]")
      ->check(CLI::Range(1, 19));
}

EncodeSettings make_encode_settings(const CodecOptions& options) {
  EncodeSettings settings;
  for (const auto& rule : options.bin_sizes) settings.bin_sizes.add_rule(rule);
  if (!(options.scale_factor >= kMinScaleFactor && options.scale_factor <= kMaxScaleFactor))
    fail_usage("--scale-factor must be between 1 and 4");
  settings.scale_factor = static_cast<float>(options.scale_factor);
  settings.exclude = options.exclude;
  settings.zstd_level = options.zstd_level;
  return settings;
}

}  // namespace adacomp::cli
