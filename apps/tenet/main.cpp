// The tenet command line: one executable, one file per subcommand (see Commands.h).
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "Commands.h"
#include "support/Error.h"

int main(int argc, char **argv) {
  CLI::App app{"tenet: finite-difference stencils, their exact adjoints, checkpointing and "
               "compression for wave-equation inversion"};
  app.require_subcommand(1);
  CLI::App *bench = app.add_subcommand("bench", "Benchmarks that print JSON figures");
  bench->require_subcommand(1);

  // Subcommands: one line each, in the order they appear in --help.
  tenet::cli::add_demo_command(app);
  tenet::cli::add_fwi_command(app);
  tenet::cli::add_tradeoff_command(app);
  tenet::cli::add_model_command(app);
  tenet::cli::add_forward_command(app);
  tenet::cli::add_gradient_command(app);
  tenet::cli::add_check_command(app);
  tenet::cli::add_bench_forward_command(*bench);
  tenet::cli::add_bench_adjoint_commands(*bench);
  tenet::cli::add_compress_commands(app);
  tenet::cli::add_bench_compress_command(*bench);
  tenet::cli::add_schedule_command(app);

  // "tenet foo" would otherwise be told that a subcommand is required.
  for (int i = 1, level = 0; i < argc && level < 2; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') break;
    CLI::App *parent = level == 0 ? &app : bench;
    bool known = false;
    for (const CLI::App *sub : parent->get_subcommands({})) known |= sub->get_name() == word;
    if (!known) {
      std::fprintf(stderr, "tenet: error: unknown command '%s%s'; run '%s --help' for the list\n",
                   level ? "bench " : "", word.c_str(), level ? "tenet bench" : "tenet");
      return 2;
    }
    if (word != "bench") break;
    level = 1;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  } catch (const tenet::Error &e) {
    std::fprintf(stderr, "tenet: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "tenet: error: out of memory: the problem does not fit this machine's memory; use a smaller "
                         "--shape, fewer time steps or shots, or a --memory budget\n");
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "tenet: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
