/** \file Lower.h  Equations -> clusters -> loop IR, before any optimisation pass. */
#pragma once

#include <string>
#include <vector>

#include "ir/Kernel.h"
#include "types/Eq.h"

namespace tenet {

struct LowerOptions {
  std::string name = "Kernel";
  bool backward = false;  ///< run the time loop from time_M down to time_m (adjoints)
};

/// Builds the kernel's arguments and its plain loop nests: a time loop (when any field has
/// time) around one loop nest per cluster, in equation order.
Kernel lower(const std::vector<Eq> &eqs, const LowerOptions &opts);

}  // namespace tenet
