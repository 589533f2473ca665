/** \file Function.h  Data on grids: Function, TimeFunction, Constant, SparseTimeFunction. */
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "support/Error.h"
#include "symbolic/Expr.h"
#include "types/Grid.h"

namespace tenet {

enum class FieldKind {
  Function,      ///< data on the grid with a halo
  TimeFunction,  ///< time_order+1 modulo buffers (or `save` buffers) of grid data
  Sparse,        ///< off-grid points: data [nt][npoint], coordinates [npoint][ndim]
  Table,         ///< an internal table made by lowering (sparse indices and weights)
};

/// Zero-initialised storage whose byte `lead` lies on a 64-byte boundary (a grid field passes
/// its halo width, so every interior row starts on a cache line and vector loads need no
/// peeling). Buffers of 4 MiB and more start within 4 KiB of a 2 MiB boundary (staggered from
/// one buffer to the next, so that arrays read at the same point do not share cache sets) and
/// are asked to be backed by huge pages: a stencil reads ~25 rows spread over many 4 KiB pages,
/// and TLB misses cost it 10-15%.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t bytes, std::size_t lead = 0);
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  AlignedBuffer(AlignedBuffer &&) = default;
  AlignedBuffer &operator=(AlignedBuffer &&) = default;
  void *get() const { return static_cast<char *>(p_.get()) + offset_; }
  std::size_t bytes() const { return bytes_; }

 private:
  struct Free {
    void operator()(void *p) const;
  };
  std::unique_ptr<void, Free> p_;
  std::size_t bytes_ = 0;
  std::size_t offset_ = 0;  ///< from the allocation to the first element
};

/// Everything known about one field: layout, halo, time buffering and the data itself.
/// Storage is C order over `alloc` (time buffer first for TimeFunction, then space dims with
/// halo on both sides; the innermost row padded to a multiple of 64 bytes).
class FieldData : public FieldBase {
 public:
  FieldData(std::string name, FieldKind kind, Grid grid, DType dtype);

  FieldKind kind;
  Grid grid;
  DType dtype;
  bool integer = false;            ///< Table of int32 (sparse point indices)
  int space_order = 0;
  std::vector<int> halo;           ///< per space dim, points on each side
  int time_order = 0;
  int nbuf = 0;                    ///< time buffers (TimeFunction)
  bool saved = false;              ///< `save=N`: buffer index is the time index
  /// Time levels by reference (modulo TimeFunctions, set before an operator is built from it):
  /// kernels reach level t at `levels[buffer_of(t)]`, each one buffer's worth of elements laid
  /// out as a buffer, instead of in `buffer`. The checkpointing runtime uses it to hand an
  /// operator levels where they lie (in checkpoints) instead of copying them.
  bool levels_by_reference = false;
  std::vector<void *> levels;      ///< nbuf pointers, set before each apply
  std::int64_t npoint = 0, nt = 0; ///< Sparse
  std::vector<double> coordinates; ///< Sparse: [npoint][ndim]
  Expr point_dim;                  ///< Sparse: the point index symbol p
  std::vector<std::int64_t> alloc; ///< allocated extent of every storage dimension
  AlignedBuffer buffer;

  std::size_t element_size() const { return integer ? 4 : dtype_size(dtype); }
  std::size_t count() const;       ///< elements allocated
  /// Elements in one time buffer (or the whole field when there is no time dimension).
  std::size_t buffer_count() const;
  /// The time buffer holding level `time` (modulo the buffers; with `save` the level itself).
  std::int64_t buffer_of(std::int64_t time) const { return (time % nbuf + nbuf) % nbuf; }
  bool has_time() const { return kind == FieldKind::TimeFunction || kind == FieldKind::Sparse; }
  /// Data on the grid (Function or TimeFunction), indexed by the space dimensions.
  bool on_grid() const { return kind == FieldKind::Function || kind == FieldKind::TimeFunction; }
  /// Where the space indices of an access start: after the time index of a TimeFunction.
  std::size_t first_space() const { return kind == FieldKind::TimeFunction ? 1 : 0; }
  void allocate();
};

/// A typed view of one grid buffer, indexed by interior coordinates (halo at negative indices
/// and at n..n+halo-1).
template <class T>
class GridView {
 public:
  GridView(T *base, std::vector<std::int64_t> alloc, std::vector<int> halo, std::vector<std::int64_t> shape)
      : base_(base), alloc_(std::move(alloc)), halo_(std::move(halo)), shape_(std::move(shape)) {}
  T &operator()(std::int64_t i) const { return base_[i + halo_[0]]; }
  T &operator()(std::int64_t i, std::int64_t j) const { return base_[(i + halo_[0]) * alloc_[1] + j + halo_[1]]; }
  T &operator()(std::int64_t i, std::int64_t j, std::int64_t k) const {
    return base_[((i + halo_[0]) * alloc_[1] + j + halo_[1]) * alloc_[2] + k + halo_[2]];
  }
  const std::vector<std::int64_t> &shape() const { return shape_; }
  T *raw() const { return base_; }

 private:
  T *base_;
  std::vector<std::int64_t> alloc_;
  std::vector<int> halo_;
  std::vector<std::int64_t> shape_;
};

struct FunctionOptions {
  int halo = -1;                  ///< points of halo on each side; default space_order/2
  DType dtype;                    ///< default: the grid's dtype
  bool dtype_set = false;
  FunctionOptions() : dtype(DType::Float32) {}
  static FunctionOptions with_dtype(DType t) {
    FunctionOptions o;
    o.dtype = t;
    o.dtype_set = true;
    return o;
  }
};

/// Data on a grid. `f()` is the access f[x, y, z]; `f({x + 1, y})` any other point.
class Function {
 public:
  Function(std::string name, const Grid &grid, int space_order = 2, FunctionOptions opts = {});

  const std::string &name() const { return d_->name(); }
  const Grid &grid() const { return d_->grid; }
  int space_order() const { return d_->space_order; }
  DType dtype() const { return d_->dtype; }
  const std::shared_ptr<FieldData> &data() const { return d_; }

  /// A handle to existing field data (e.g. a derivative field made by automatic
  /// differentiation). Throws when `d` is not grid data.
  static Function from_data(std::shared_ptr<FieldData> d);

  /// f[x, y, z]
  Expr operator()() const;
  /// f at explicit space indices, one per dimension.
  Expr operator()(std::vector<Expr> space_indices) const;
  /// Implicit use in expressions: `2 * f`.
  operator Expr() const { return (*this)(); }  // NOLINT

  /// Sets the interior (C order, last dimension fastest) from user values; the halo is left
  /// as is. Throws when the size does not match the grid.
  void set_data(std::span<const double> values, int time_buffer = 0);
  void set_data(std::span<const float> values, int time_buffer = 0);
  void fill(double value, int time_buffer = -1);
  /// The interior values as doubles, C order.
  std::vector<double> get_data(int time_buffer = 0) const;
  /// Adds the interior (C order, as get_data returns it) onto `sum`, which must have
  /// grid().size() values: e.g. a gradient summed over shots, without a copy per shot.
  void add_data_to(std::span<double> sum, int time_buffer = 0) const;
  /// Typed view of one buffer (halo included); T must match dtype.
  template <class T>
  GridView<T> view(int time_buffer = 0) const;

 protected:
  explicit Function(std::shared_ptr<FieldData> d) : d_(std::move(d)) {}
  std::shared_ptr<FieldData> d_;
};

struct TimeFunctionOptions : FunctionOptions {
  int time_order = 2;
  std::int64_t save = 0;  ///< 0: time_order+1 modulo buffers; N: all N time levels stored
  /// Modulo buffers (0: time_order+1). More when more levels are live in a step (e.g. an
  /// adjoint that also reads level t+3). `time_order` keeps levels in place: the level a step
  /// writes overwrites the oldest (u[t+1] takes u[t-1]'s buffer), which saves a buffer and,
  /// since the overwritten line is already in cache, a fifth of a 3D stencil's memory traffic.
  /// Operators accept it only when every read of the overwritten level is at the point written
  /// and comes no later than the write (as in m * u.dt2 - laplace(u) = 0); they say otherwise.
  int buffers = 0;
};

/// A TimeFunction with f's name, grid, space order, halo, time order and element type that keeps
/// `save` time levels (save > 0) or cycles through `buffers` modulo buffers (0: the default):
/// the same field with other time buffering (a history for the gradient, more levels for an
/// adjoint).
std::shared_ptr<FieldData> time_function_like(const FieldData &f, std::int64_t save, int buffers = 0);

/// A Function with a time dimension. `u()` is u[t, x...], `u.forward()` u[t+1, ...],
/// `u.backward()` u[t-1, ...].
class TimeFunction : public Function {
 private:
  explicit TimeFunction(std::shared_ptr<FieldData> d) : Function(std::move(d)) {}

 public:
  TimeFunction(std::string name, const Grid &grid, int space_order = 2, TimeFunctionOptions opts = {});

  static TimeFunction from_data(std::shared_ptr<FieldData> d);

  int time_order() const { return d_->time_order; }
  std::int64_t nbuf() const { return d_->nbuf; }
  bool saved() const { return d_->saved; }

  Expr operator()() const;
  /// u[t + k, x, y, z]
  Expr at_time(const Expr &time_index) const;
  /// u[time_index, space_indices...]
  Expr at(const Expr &time_index, std::vector<Expr> space_indices) const;
  Expr forward() const;
  Expr backward() const;
  operator Expr() const { return (*this)(); }  // NOLINT
};

/// A named scalar given at apply time (its value can be overridden there by name).
class Constant {
 public:
  Constant(std::string name, double value = 0.0);
  const Expr &symbol() const { return symbol_; }
  const std::string &name() const { return symbol_->name; }
  double value() const { return *value_; }
  void set_value(double v) { *value_ = v; }
  operator Expr() const { return symbol_; }  // NOLINT

 private:
  Expr symbol_;
  std::shared_ptr<double> value_;
};

struct Eq;

/// Off-grid points (sources, receivers) with coordinates and a value per time step.
class SparseTimeFunction {
 public:
  SparseTimeFunction(std::string name, const Grid &grid, std::int64_t npoint, std::int64_t nt,
                     DType dtype);
  SparseTimeFunction(std::string name, const Grid &grid, std::int64_t npoint, std::int64_t nt);

  static SparseTimeFunction from_data(std::shared_ptr<FieldData> d);

  const std::string &name() const { return d_->name(); }
  std::int64_t npoint() const { return d_->npoint; }
  std::int64_t nt() const { return d_->nt; }
  const std::shared_ptr<FieldData> &data() const { return d_; }
  const Expr &point_dim() const { return p_; }

  /// src[t, p]
  Expr operator()() const;
  operator Expr() const { return (*this)(); }  // NOLINT

  /// Sets point coordinates, [npoint][ndim] in physical units; points must lie in the grid.
  void set_coordinates(const std::vector<double> &coords);
  const std::vector<double> &coordinates() const { return d_->coordinates; }
  /// Values [nt][npoint] (C order).
  void set_data(std::span<const double> values);
  std::vector<double> get_data() const;
  double value(std::int64_t time, std::int64_t point) const;
  void set_value(std::int64_t time, std::int64_t point, double v);

  /// Scatters `expr` (may use this function's value and grid fields) into the field accessed
  /// by `target` (e.g. u.forward()), with multilinear weights.
  Eq inject(const Expr &target, const Expr &expr) const;
  /// Gathers `expr` (an expression of grid fields at [x, y, z]) at the points into this
  /// function at the current time.
  Eq interpolate(const Expr &expr) const;

 private:
  SparseTimeFunction() = default;
  std::shared_ptr<FieldData> d_;
  Expr p_;
};

/// The field behind an Access, or null for accesses of other kinds.
const FieldData *field_of(const Expr &access);
std::shared_ptr<FieldData> field_ptr_of(const Expr &access);

}  // namespace tenet
