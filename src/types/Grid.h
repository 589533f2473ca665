/** \file Grid.h  The computational grid: shape, extent, origin, spacing, dtype and dimensions. */
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "support/DType.h"
#include "symbolic/Expr.h"

namespace tenet {

struct GridData {
  std::vector<std::int64_t> shape;
  std::vector<double> extent, origin, spacing;
  DType dtype = DType::Float32;
  std::vector<Expr> dims;      ///< x, y, z: Dimension symbols, innermost last in memory
  std::vector<Expr> spacings;  ///< h_x, h_y, h_z: Scalar symbols bound to `spacing` at apply
  Expr time;                   ///< t
  Expr dt;                     ///< the time step, a Scalar symbol given at apply
};

/// A 1D, 2D or 3D structured grid. Spacing is extent / (shape - 1): the first and last points
/// lie on the boundary. A handle: copies share the same grid.
class Grid {
 public:
  Grid(std::vector<std::int64_t> shape, std::vector<double> extent, DType dtype = DType::Float32,
       std::vector<double> origin = {});

  int ndim() const { return static_cast<int>(d_->shape.size()); }
  const std::vector<std::int64_t> &shape() const { return d_->shape; }
  const std::vector<double> &extent() const { return d_->extent; }
  const std::vector<double> &origin() const { return d_->origin; }
  const std::vector<double> &spacing() const { return d_->spacing; }
  DType dtype() const { return d_->dtype; }
  std::int64_t size() const;  ///< number of grid points

  const Expr &dim(int i) const { return d_->dims.at(static_cast<std::size_t>(i)); }
  const std::vector<Expr> &dims() const { return d_->dims; }
  const Expr &spacing_symbol(int i) const { return d_->spacings.at(static_cast<std::size_t>(i)); }
  const Expr &time_dim() const { return d_->time; }
  const Expr &dt() const { return d_->dt; }
  /// Which space dimension `dim` is (0..ndim-1), or -1.
  int dim_index(const Expr &dim) const;

  const std::shared_ptr<const GridData> &data() const { return d_; }
  friend bool operator==(const Grid &a, const Grid &b) { return a.d_ == b.d_; }

 private:
  std::shared_ptr<const GridData> d_;
};

}  // namespace tenet
