#include "types/Grid.h"

#include <cmath>

#include "support/Error.h"
#include "support/Shape.h"

namespace tenet {

Grid::Grid(std::vector<std::int64_t> shape, std::vector<double> extent, DType dtype, std::vector<double> origin) {
  const std::size_t n = shape.size();
  TENET_USER_CHECK(n >= 1 && n <= 3, "Grid: ", n, " dimensions given; Tenet supports 1D, 2D and 3D grids");
  TENET_USER_CHECK(extent.size() == n, "Grid: shape has ", n, " entries but extent has ", extent.size(),
                   "; give one extent per dimension");
  if (origin.empty()) origin.assign(n, 0.0);
  TENET_USER_CHECK(origin.size() == n, "Grid: shape has ", n, " entries but origin has ", origin.size());
  auto d = std::make_shared<GridData>();
  static const char *names[3][3] = {{"x"}, {"x", "y"}, {"x", "y", "z"}};
  for (std::size_t i = 0; i < n; ++i) {
    TENET_USER_CHECK(shape[i] >= 2, "Grid: shape[", i, "] = ", shape[i], "; every dimension needs at least 2 points");
    TENET_USER_CHECK(std::isfinite(extent[i]) && extent[i] > 0, "Grid: extent[", i, "] = ", extent[i],
                     " must be a positive finite length");
    TENET_USER_CHECK(std::isfinite(origin[i]), "Grid: origin[", i, "] is not finite");
    d->spacing.push_back(extent[i] / static_cast<double>(shape[i] - 1));
    d->dims.push_back(symbol(names[n - 1][i], SymbolKind::Dimension));
    d->spacings.push_back(symbol(std::string("h_") + names[n - 1][i], SymbolKind::Scalar));
  }
  (void)value_count(shape, "Grid");
  d->shape = std::move(shape);
  d->extent = std::move(extent);
  d->origin = std::move(origin);
  d->dtype = dtype;
  d->time = symbol("t", SymbolKind::Dimension);
  d->dt = symbol("dt", SymbolKind::Scalar);
  d_ = std::move(d);
}

std::int64_t Grid::size() const {
  std::int64_t s = 1;
  for (auto v : d_->shape) s *= v;
  return s;
}

int Grid::dim_index(const Expr &dim) const {
  for (std::size_t i = 0; i < d_->dims.size(); ++i)
    if (d_->dims[i] == dim) return static_cast<int>(i);
  return -1;
}

}  // namespace tenet
