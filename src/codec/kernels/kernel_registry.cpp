#include "codec/kernels/kernel_registry.hpp"

#include <atomic>
#include <string>

#include <hwy/targets.h>

#include "adacomp/error.hpp"
#include "adacomp/kernels.hpp"
#include "codec/kernels/cpu_targets.hpp"

namespace adacomp {

namespace detail {

namespace {

// Set by select_kernel before any encoding; read by every selection and correction call.
std::atomic<std::int64_t> g_chosen_kernel{kBestKernel};

}  // namespace

std::int64_t chosen_kernel() { return g_chosen_kernel.load(std::memory_order_relaxed); }

std::int64_t best_target(std::int64_t compiled) {
  const std::int64_t runnable = cpu_targets() & compiled;
  return runnable & -runnable;
}

}  // namespace detail

std::vector<std::string> available_kernels() {
  std::vector<std::string> names;
  for (std::int64_t target : detail::selection_targets()) names.emplace_back(hwy::TargetName(target));
  names.emplace_back("reference");
  return names;
}

void select_kernel(const std::string& name) {
  if (name == "auto" || name == "reference") {
    detail::g_chosen_kernel = name == "auto" ? detail::kBestKernel : detail::kReferenceKernel;
    return;
  }
  for (std::int64_t target : detail::selection_targets())
    if (name == hwy::TargetName(target)) {
      detail::g_chosen_kernel = target;
      return;
    }
  std::string known;
  for (const auto& available : available_kernels()) known += " " + available;
  fail_usage("unknown or unsupported kernel '" + name + "' (this CPU has: auto" + known + ")");
}

std::string active_kernel() {
  const std::int64_t kernel = detail::chosen_kernel();
  if (kernel == detail::kReferenceKernel) return "reference";
  return hwy::TargetName(detail::selection_target(kernel));
}

}  // namespace adacomp
