/** \file Commands.h  The subcommands of the `tenet` executable, one file each. */
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "support/Error.h"

namespace tenet::cli {

/// A `--shape` option's sizes: between `least` and `most` of them, else an error that shows what
/// came (CLI11 appends the sizes of a repeated option to the first's).
/// "61,31,20": sizes as the options take them.
inline std::string sizes_text(const std::vector<std::int64_t> &sizes) {
  std::string s;
  for (auto n : sizes) s += (s.empty() ? "" : ",") + std::to_string(n);
  return s;
}

inline void check_shape_sizes(const std::vector<std::int64_t> &sizes, std::size_t least, std::size_t most,
                              const char *example) {
  if (sizes.size() >= least && sizes.size() <= most) return;
  const std::string got = sizes_text(sizes);
  const std::string count = least == most ? std::to_string(least) : std::to_string(least) + " to " + std::to_string(most);
  throw Error(internal::cat("--shape takes ", count, " sizes, e.g. ", example, "; got ", sizes.size(),
                            got.empty() ? "" : " (" + got + ")",
                            sizes.size() > most ? " (if --shape came twice, both lists were joined: give it once)" : ""));
}

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
