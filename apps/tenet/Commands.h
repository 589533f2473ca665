/** \file Commands.h  The subcommands of the `tenet` executable, one file each. */
#pragma once

#include <CLI/CLI.hpp>

namespace tenet::cli {

// Each adds its subcommand (with --help, options and callback) to `app`.
// `bench` is the parent of the `tenet bench ...` benchmarks.

}  // namespace tenet::cli
