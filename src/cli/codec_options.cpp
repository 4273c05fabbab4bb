#include "codec_options.hpp"

#include "adacomp/error.hpp"

namespace adacomp::cli {

void add_tensor_rule_options(CLI::App& app, CodecOptions& options) {
  app.add_option("--bin-size", options.bin_sizes,
                 "Bin size T for all tensors (N) or for tensors matching a glob (GLOB=N); repeatable")
      ->type_name("[GLOB=]N")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--exclude", options.exclude, "Send tensors matching GLOB uncompressed; repeatable")
      ->type_name("GLOB")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_codec_options(CLI::App& app, CodecOptions& options) {
  add_tensor_rule_options(app, options);
  app.add_option("--scale-factor", options.scale_factor, "Scale factor k of H = r + k*g, 1 to 4")
      ->default_val(kDefaultScaleFactor);
  app.add_flag("--zstd{3}", options.zstd_level, "zstd stage over each frame's payload (level 1-19, default 3)")
      ->type_name("[=LEVEL]")
      ->check(CLI::Range(1, 19));
  app.add_option("--entries", options.entries,
                 "Entry layout: coded (format 2.0, entropy-coded) or fixed (format 1.0, 8/16-bit entries)")
      ->check(CLI::IsMember({"coded", "fixed"}))
      ->default_val("coded");
  app.add_option("--layout", options.layout,
                 "Layout file agreed by every learner: frames refer to its tensors (written from this input if "
                 "FILE does not exist)")
      ->type_name("FILE");
}

EncodeSettings make_encode_settings(const CodecOptions& options) {
  EncodeSettings settings;
  for (const auto& rule : options.bin_sizes) settings.bin_sizes.add_rule(rule);
  if (!(options.scale_factor >= kMinScaleFactor && options.scale_factor <= kMaxScaleFactor))
    fail_usage("--scale-factor must be between 1 and 4");
  settings.scale_factor = static_cast<float>(options.scale_factor);
  settings.exclude = options.exclude;
  settings.zstd_level = options.zstd_level;
  settings.entries = options.entries == "fixed" ? wire::EntryLayout::fixed : wire::EntryLayout::coded;
  if (!options.layout.empty() && settings.entries == wire::EntryLayout::fixed)
    fail_usage("--layout needs --entries coded: fixed entries are written as format 1.0, which has no layouts");
  return settings;
}

}  // namespace adacomp::cli
