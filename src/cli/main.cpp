// adacomp: command-line front end. Argument parsing lives here and in cmd_*.cpp; file policy in
// output_file.cpp; everything else is the library.
#include <iostream>
#include <vector>

#include "adacomp/error.hpp"
#include "adacomp/kernels.hpp"
#include "adacomp/version.hpp"
#include "adacomp/wire.hpp"
#include "cli_support.hpp"
#include "commands.hpp"
#include "output_file.hpp"

namespace {
std::string kernel_list() {
  std::string list;
  for (const auto& name : adacomp::available_kernels()) list += " " + name;
  return list;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace adacomp::cli;
  install_signal_handlers();

  CLI::App app{"adacomp: AdaComp gradient compression codec and wire-format tool"};
  app.name("adacomp");
  const std::string version = std::string("adacomp ") + adacomp::kToolVersion + " (wire formats 1.0, 1.1, 2.0 and " +
                              std::to_string(adacomp::wire::kFormatMajor) + "." +
                              std::to_string(adacomp::wire::kFormatMinor) +
                              "; encoder kernels on this CPU:" + kernel_list() +
#ifdef ADACOMP_WITH_MPI
                              "; replay over MPI ranks"
#endif
                              ")";
  app.set_version_flag("-V,--version", version);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 differences (diff), 2 usage error, 3 invalid or corrupt input, "
      "4 I/O error, 5 internal error.");

  std::vector<Command> commands{add_encode_command(app), add_decode_command(app), add_inspect_command(app),
                                add_diff_command(app),   add_verify_command(app), add_replay_command(app),
                                add_bench_command(app),  add_layout_command(app), add_codecs_command(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    for (char& c : message)
      if (c == '\n') c = ' ';
    std::cerr << "adacomp: usage error: " << message << " (see adacomp --help)\n";
    return kExitUsage;
  }

  for (const Command& command : commands) {
    if (!command.app->parsed()) continue;
    try {
      return command.run();
    } catch (const std::exception& e) {
      return report_error(e);
    } catch (...) {
      std::cerr << "adacomp: internal error (a bug in adacomp; please report it): unknown exception\n";
      return kExitInternal;
    }
  }
  return kExitUsage;
}
