#include "compress/Metrics.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace tenet {

namespace {

template <class T>
ErrorStats compare(const T *a, const T *b, std::size_t n) {
  ErrorStats s;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sq = 0, mx = 0;
  bool kept = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(a[i])) {
      if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) kept = false;
      continue;
    }
    lo = std::min(lo, double(a[i]));
    hi = std::max(hi, double(a[i]));
    double e = std::fabs(double(a[i]) - double(b[i]));
    if (!(e <= mx)) mx = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
    sq += e * e;
  }
  s.nonfinite_preserved = kept;
  s.max_abs_error = kept ? mx : std::numeric_limits<double>::infinity();
  s.value_range = hi >= lo ? hi - lo : 0;
  double rmse = n ? std::sqrt(sq / double(n)) : 0;
  s.psnr_db = rmse > 0 ? 20 * std::log10(s.value_range / rmse) : std::numeric_limits<double>::infinity();
  return s;
}

}  // namespace

ErrorStats compare_arrays(const void *original, const void *decoded, std::size_t count, DType dtype) {
  if (dtype == DType::Float32)
    return compare(static_cast<const float *>(original), static_cast<const float *>(decoded), count);
  return compare(static_cast<const double *>(original), static_cast<const double *>(decoded), count);
}

}  // namespace tenet
