#include <cmath>
#include <cstdio>
#include <memory>

#include "adacomp/compare.hpp"
#include "adacomp/dtype.hpp"
#include "adacomp/error.hpp"
#include "cli_support.hpp"
#include "commands.hpp"
#include "io/json_output.hpp"
#include "layout_option.hpp"
#include "option_checks.hpp"

namespace adacomp::cli {

namespace {

struct DiffOptions {
  std::string a, b;
  std::optional<double> tolerance;
  bool json = false;
  std::string layout;
  std::string dtype = "bf16";
  Verbosity verbosity;
};

// Whether a tensor counts as the same: identical, or (with --tolerance) within the relative L2 error.
bool same(const TensorDiff& d, const std::optional<double>& tolerance) {
  if (d.identical) return true;
  if (!tolerance || !d.shapes_match || !d.values) return false;
  const double error = d.values->rel_l2();
  return std::isfinite(error) && error <= *tolerance;
}

Json tensor_json(const TensorDiff& d, bool counted_same) {
  Json out;
  out["name"] = d.name;
  out["identical"] = d.identical;
  out["same"] = counted_same;
  out["differences"] = d.differences;
  if (d.overlap)
    out["selection"] = {{"common", d.overlap->common},
                        {"only_in_a", d.overlap->only_a},
                        {"only_in_b", d.overlap->only_b},
                        {"jaccard", d.overlap->jaccard},
                        {"sign_disagreements", d.overlap->sign_disagreements}};
  else
    out["selection"] = nullptr;
  if (d.values)
    out["values"] = {{"elements", d.values->count},
                     {"max_abs_error", d.values->max_abs_diff},
                     {"rmse", d.values->rmse()},
                     {"rel_l2", json_number(d.values->rel_l2())},
                     {"cosine", json_number(d.values->cosine())},
                     {"psnr_db", json_number(d.values->psnr())}};
  else
    out["values"] = nullptr;
  return out;
}

void print_tensor(const TensorDiff& d, bool counted_same) {
  std::printf("%s %s\n", counted_same ? (d.identical ? "=" : "~") : "!", d.name.c_str());
  for (const auto& difference : d.differences) std::printf("    %s\n", difference.c_str());
  if (d.overlap)
    std::printf("    selection: %llu common, %llu only in A, %llu only in B, jaccard %.6f, %llu sign disagreements\n",
                static_cast<unsigned long long>(d.overlap->common), static_cast<unsigned long long>(d.overlap->only_a),
                static_cast<unsigned long long>(d.overlap->only_b), d.overlap->jaccard,
                static_cast<unsigned long long>(d.overlap->sign_disagreements));
  if (d.values)
    std::printf("    values: max_abs_error %.6g, rmse %.6g, rel_l2 %.6g, cosine %.9g, psnr %.4g dB\n",
                d.values->max_abs_diff, d.values->rmse(), d.values->rel_l2(), d.values->cosine(), d.values->psnr());
}

int run_diff(DiffOptions& options) {
  if (options.a == "-" && options.b == "-") fail_usage("only one of A and B can be stdin");
  if (options.a == "-" || options.b == "-") refuse_terminal_input("-");
  const auto layout = load_layout_option(options.layout);
  const DType void_dtype = *dtype_from_name(options.dtype);
  const DiffInput a = load_diff_input(options.a, stem_of(options.a), layout ? &*layout : nullptr, void_dtype);
  const DiffInput b = load_diff_input(options.b, stem_of(options.b), layout ? &*layout : nullptr, void_dtype);
  const DiffResult result = diff_inputs(a, b);

  std::size_t differing = 0;
  std::vector<bool> counted(result.tensors.size());
  for (std::size_t i = 0; i < result.tensors.size(); ++i) {
    counted[i] = same(result.tensors[i], options.tolerance);
    differing += !counted[i];
  }
  const bool all_same = differing == 0 && result.only_in_a.empty() && result.only_in_b.empty();
  if (options.verbosity.level() >= 1 && options.json) {
    Json out;
    out["adacomp_diff"] = 1;
    out["a"] = {{"source", a.source}, {"kind", a.is_stream ? "stream" : "tensors"}};
    out["b"] = {{"source", b.source}, {"kind", b.is_stream ? "stream" : "tensors"}};
    out["tolerance"] = options.tolerance ? Json(*options.tolerance) : Json(nullptr);
    Json tensors = Json::array();
    for (std::size_t i = 0; i < result.tensors.size(); ++i)
      tensors.push_back(tensor_json(result.tensors[i], counted[i]));
    out["tensors"] = std::move(tensors);
    out["only_in_a"] = result.only_in_a;
    out["only_in_b"] = result.only_in_b;
    out["same"] = all_same;
    std::printf("%s\n", json_text(out).c_str());
  } else if (options.verbosity.level() >= 1) {
    std::printf("A: %s (%s)\nB: %s (%s)\n", a.source.c_str(), a.is_stream ? "stream" : "tensors", b.source.c_str(),
                b.is_stream ? "stream" : "tensors");
    for (std::size_t i = 0; i < result.tensors.size(); ++i) print_tensor(result.tensors[i], counted[i]);
    for (const auto& name : result.only_in_a) std::printf("< %s (only in A)\n", name.c_str());
    for (const auto& name : result.only_in_b) std::printf("> %s (only in B)\n", name.c_str());
    std::printf("%s: %zu tensors compared, %zu differ, %zu only in A, %zu only in B\n", all_same ? "same" : "differ",
                result.tensors.size(), differing, result.only_in_a.size(), result.only_in_b.size());
  }
  return all_same ? kExitSuccess : kExitDifferent;
}

}  // namespace

Command add_diff_command(CLI::App& parent) {
  auto options = std::make_shared<DiffOptions>();
  CLI::App* app = parent.add_subcommand(
      "diff", "Compare two streams or tensor files tensor by tensor (exit 0 same, 1 different, >= 2 trouble)");
  app->add_option("a", options->a, "Stream or tensor file A ('-': stdin)")->required();
  app->add_option("b", options->b, "Stream or tensor file B, the reference for errors ('-': stdin)")->required();
  add_layout_read_option(*app, options->layout);
  app->add_option("--tolerance", options->tolerance, "Count tensors within this relative L2 error as the same")
      ->check(number_from(0, std::numeric_limits<double>::max()));
  app->add_option("--dtype", options->dtype,
                  "What untyped void arrays of .npy/.npz files hold: bf16 for 'V2', f8e5m2|f8e4m3|f8e4m3b11 for 'V1'")
      ->capture_default_str()
      ->check(CLI::IsMember({"bf16", "f8e5m2", "f8e4m3", "f8e4m3b11"}));
  app->add_flag("--json", options->json, "Print JSON (schema: format_spec/cli_json.md)");
  add_verbosity_flags(*app, options->verbosity);
  return {app, [options] { return run_diff(*options); }};
}

}  // namespace adacomp::cli
