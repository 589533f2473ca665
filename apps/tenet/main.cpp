// The tenet command line: one executable, one file per subcommand (see Commands.h).
#include <cstdio>
#include <exception>

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  } catch (const tenet::Error &e) {
    std::fprintf(stderr, "tenet: error: %s\n", e.what());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "tenet: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
