/** \file Commands.h  The subcommands of the `tenet` executable, one file each. */
#pragma once

#include <CLI/CLI.hpp>

namespace tenet::cli {

// Each adds its subcommand (with --help, options and callback) to `app`.
// `bench` is the parent of the `tenet bench ...` benchmarks.

void add_demo_command(CLI::App &app);               // demo (issue 2)
void add_fwi_command(CLI::App &app);                // fwi (issue 6)
void add_tradeoff_command(CLI::App &app);           // tradeoff (issue 6)
void add_model_command(CLI::App &app);              // model (issue 6)
void add_forward_command(CLI::App &app);            // forward (issue 6)
void add_gradient_command(CLI::App &app);           // gradient (issue 6)
void add_check_command(CLI::App &app);              // check (issue 6)
void add_bench_forward_command(CLI::App &bench);   // bench forward (issue 2)
void add_bench_adjoint_commands(CLI::App &bench);  // bench adjoint, bench gradient (issues 3, 4)
void add_compress_commands(CLI::App &app);       // compress, decompress (issue 5)
void add_bench_compress_command(CLI::App &bench);  // bench compress (issue 5)
void add_schedule_command(CLI::App &app);          // schedule (issue 4)

}  // namespace tenet::cli
