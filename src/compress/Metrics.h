/** \file Metrics.h  Error statistics between an array and its decompressed copy (for CLI, bench, tests). */
#pragma once

#include <cstddef>

#include "support/DType.h"

namespace tenet {

struct ErrorStats {
  double max_abs_error = 0;  ///< max |a - b| over all elements (Inf if a non-finite value changed)
  double value_range = 0;    ///< max - min of a's finite values
  double psnr_db = 0;        ///< 20 log10(range / rmse); +Inf when identical
  bool nonfinite_preserved = true;  ///< every NaN/Inf of `a` is bitwise equal in `b`
};

/// Compares `count` elements of `dtype` at `original` and `decoded`. NaN compared with NaN of
/// the same bits counts as error 0; any other change of a non-finite value as error Inf.
ErrorStats compare_arrays(const void *original, const void *decoded, std::size_t count, DType dtype);

}  // namespace tenet
