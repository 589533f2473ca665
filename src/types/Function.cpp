#include "types/Function.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "support/Bytes.h"
#include "types/Eq.h"

namespace tenet {

void AlignedBuffer::Free::operator()(void *p) const { std::free(p); }

AlignedBuffer::AlignedBuffer(std::size_t bytes, std::size_t lead) : bytes_(bytes) {
  constexpr std::size_t kHuge = std::size_t(2) << 20;
  const bool huge = bytes >= 2 * kHuge;
  const std::size_t align = huge ? kHuge : 64;
  const std::size_t lead_pad = (64 - lead % 64) % 64;
  // calloc, not aligned_alloc + memset: a large block comes straight from mmap, whose pages the
  // kernel zeroes when first touched (by the threads of the first operator that writes them),
  // instead of being zeroed twice, by the kernel and by a single-threaded memset, here (a
  // gradient's 380 MB history took 0.4 s to allocate that way). 256 bytes of slack after the
  // data: the last, partial vector of an explicit vector loop's row loads (never uses) up to
  // two vectors and a stencil radius past the row's end.
  //
  // Large blocks also start a rotating number of 9-line steps past the huge page (0 to 7 of
  // them): aligned alike, the arrays a stencil reads at the same point (u, m, damp, m_bar, ...)
  // would all fall in the same set of every cache level and evict each other. 256^3 order 8,
  // the full-history gradient, same-process A/B, 4 runs of 11 rounds: the reverse's best time
  // 2-9% lower in all four (medians -10%, 0, +3%, -9%), the whole gradient's best 2-15% lower.
  constexpr std::size_t kStaggerStep = 9 * 64, kStaggers = 8;
  static std::atomic<std::size_t> allocations{0};
  const std::size_t stagger = huge ? allocations.fetch_add(1, std::memory_order_relaxed) % kStaggers * kStaggerStep : 0;
  const std::size_t total = align + lead_pad + stagger + bytes + 256;
  void *p = std::calloc(total, 1);
  TENET_USER_CHECK(p != nullptr, "out of memory allocating ", bytes, " bytes");
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  offset_ = static_cast<std::size_t>(((at + align - 1) & ~(std::uintptr_t(align) - 1)) - at) + lead_pad + stagger;
  // Only advice, before the first touch so that touching faults in huge pages; where
  // transparent huge pages are off this fails harmlessly.
  if (huge) advise_huge_pages(p, total);
  p_.reset(p);
}

FieldData::FieldData(std::string name, FieldKind k, Grid g, DType t)
    : FieldBase(std::move(name)), kind(k), grid(std::move(g)), dtype(t) {}

std::size_t FieldData::count() const {
  std::size_t n = 1;
  for (auto a : alloc) n *= static_cast<std::size_t>(a);
  return n;
}

std::size_t FieldData::buffer_count() const {
  return kind == FieldKind::TimeFunction ? count() / static_cast<std::size_t>(alloc[0]) : count();
}

void FieldData::allocate() {
  // Grid data: align the first interior point of each row (rows are whole cache lines long).
  std::size_t lead = halo.empty() ? 0 : static_cast<std::size_t>(halo.back()) * element_size();
  buffer = AlignedBuffer(count() * element_size(), lead);
}

namespace {

void check_name(const std::string &name, const char *what) {
  TENET_USER_CHECK(!name.empty(), what, ": the name is empty; give a C identifier such as 'u'");
  bool ok = std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_';
  for (char c : name) ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  TENET_USER_CHECK(ok, what, " '", name, "': names must be C identifiers (letters, digits, _)");
}

void layout_grid_field(FieldData &d, int space_order, int halo) {
  TENET_USER_CHECK(halo >= -1, d.name(), ": a halo of ", halo, " points; give 0 or more (-1: space_order / 2)");
  TENET_USER_CHECK(space_order >= 1 && space_order <= 32, d.name(), ": space order ", space_order,
                   " is out of range; use an order from 1 to 32 (centred derivatives take even orders 2 to 16)");
  d.space_order = space_order;
  int h = halo >= 0 ? halo : std::max(1, space_order / 2);
  const Grid &g = d.grid;
  std::size_t per_line = 64 / d.element_size();
  for (int i = 0; i < g.ndim(); ++i) {
    d.halo.push_back(h);
    std::int64_t a = g.shape()[static_cast<std::size_t>(i)] + 2 * h;
    if (i == g.ndim() - 1) {
      const auto line = static_cast<std::int64_t>(per_line);
      // Room after the interior for the last, partial vector of a row (one cache line from an
      // aligned index; the first interior point is aligned), so that its store stays in the row.
      const std::int64_t n = g.shape()[static_cast<std::size_t>(i)];
      a = std::max(a, (n + line - 1) / line * line + h);
      a = (a + line - 1) / line * line;
      // A row of a multiple of 4 KiB maps neighbouring rows to the same cache sets (and trips
      // 4K aliasing of loads): one more cache line breaks the pattern.
      if ((a * static_cast<std::int64_t>(d.element_size())) % 4096 == 0) a += line;
    }
    d.alloc.push_back(a);
  }
}

template <class T>
void copy_in(FieldData &d, std::span<const T> values, int buf) {
  const Grid &g = d.grid;
  TENET_USER_CHECK(values.size() == static_cast<std::size_t>(g.size()), d.name(), ".set_data: got ", values.size(),
                   " values but the grid has ", g.size(), " points; pass the interior in C order");
  const std::size_t off = static_cast<std::size_t>(buf) * d.buffer_count();
  std::vector<std::int64_t> sp(d.alloc.end() - g.ndim(), d.alloc.end());
  auto set = [&](auto *base) {
    using E = std::remove_pointer_t<decltype(base)>;
    GridView<E> v(base + off, sp, d.halo, g.shape());
    std::size_t n = 0;
    const auto &s = g.shape();
    if (g.ndim() == 1)
      for (std::int64_t i = 0; i < s[0]; ++i) v(i) = static_cast<E>(values[n++]);
    else if (g.ndim() == 2)
      for (std::int64_t i = 0; i < s[0]; ++i)
        for (std::int64_t j = 0; j < s[1]; ++j) v(i, j) = static_cast<E>(values[n++]);
    else
      for (std::int64_t i = 0; i < s[0]; ++i)
        for (std::int64_t j = 0; j < s[1]; ++j)
          for (std::int64_t k = 0; k < s[2]; ++k) v(i, j, k) = static_cast<E>(values[n++]);
  };
  if (d.dtype == DType::Float32) set(static_cast<float *>(d.buffer.get()));
  else set(static_cast<double *>(d.buffer.get()));
}

void check_buffer(const FieldData &d, int buf) {
  std::int64_t nb = d.kind == FieldKind::TimeFunction ? d.alloc[0] : 1;
  TENET_USER_CHECK(buf >= 0 && buf < nb, d.name(), ": time buffer ", buf, " does not exist; it has ", nb,
                   " buffer(s), numbered from 0");
}

}  // namespace

// ---- Function ----

Function::Function(std::string name, const Grid &grid, int space_order, FunctionOptions opts) {
  check_name(name, "Function");
  d_ = std::make_shared<FieldData>(std::move(name), FieldKind::Function, grid,
                                   opts.dtype_set ? opts.dtype : grid.dtype());
  layout_grid_field(*d_, space_order, opts.halo);
  d_->allocate();
}

Function Function::from_data(std::shared_ptr<FieldData> d) {
  TENET_USER_CHECK(d && d->on_grid(),
                   "Function::from_data: not grid data");
  return Function(std::move(d));
}

TimeFunction TimeFunction::from_data(std::shared_ptr<FieldData> d) {
  TENET_USER_CHECK(d && d->kind == FieldKind::TimeFunction, "TimeFunction::from_data: not a time function");
  return TimeFunction(std::move(d));
}

SparseTimeFunction SparseTimeFunction::from_data(std::shared_ptr<FieldData> d) {
  TENET_USER_CHECK(d && d->kind == FieldKind::Sparse, "SparseTimeFunction::from_data: not sparse data");
  SparseTimeFunction s;
  s.p_ = d->point_dim;
  s.d_ = std::move(d);
  return s;
}

Expr Function::operator()() const { return access(d_, d_->grid.dims()); }

Expr Function::operator()(std::vector<Expr> idx) const {
  TENET_USER_CHECK(static_cast<int>(idx.size()) == d_->grid.ndim(), name(), ": ", idx.size(),
                   " indices given for a ", d_->grid.ndim(), "D function");
  return access(d_, std::move(idx));
}

void Function::set_data(std::span<const double> values, int time_buffer) {
  check_buffer(*d_, time_buffer);
  copy_in(*d_, values, time_buffer);
}
void Function::set_data(std::span<const float> values, int time_buffer) {
  check_buffer(*d_, time_buffer);
  copy_in(*d_, values, time_buffer);
}

void Function::fill(double value, int time_buffer) {
  std::int64_t nb = d_->kind == FieldKind::TimeFunction ? d_->alloc[0] : 1;
  TENET_USER_CHECK(time_buffer >= -1 && time_buffer < nb, d_->name(), ": fill of time buffer ", time_buffer,
                   ", but it has ", nb, " (0 to ", nb - 1, "; -1 fills them all)");
  for (std::int64_t b = 0; b < nb; ++b) {
    if (time_buffer >= 0 && b != time_buffer) continue;
    std::vector<double> v(static_cast<std::size_t>(d_->grid.size()), value);
    copy_in(*d_, std::span<const double>(v), static_cast<int>(b));
  }
}

namespace {

// Applies op(out row, field row, length) to every interior row of `f` (the last dimension is
// contiguous in both), rows in parallel: a 256^3 gradient is read out after every FWI iteration.
template <class Op>
void for_each_row(const Function &f, int time_buffer, double *out, Op op) {
  const Grid &g = f.grid();
  const std::int64_t len = g.shape().back();
  const std::int64_t rows = g.size() / len;
  auto run = [&](auto v) {
    const auto &s = g.shape();
#pragma omp parallel for schedule(static) if (g.size() > (1 << 20))
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto *row = g.ndim() == 1 ? &v(0) : g.ndim() == 2 ? &v(r, 0) : &v(r / s[1], r % s[1], 0);
      op(out + r * len, row, len);
    }
  };
  if (f.dtype() == DType::Float32) run(f.view<float>(time_buffer));
  else run(f.view<double>(time_buffer));
}

}  // namespace

std::vector<double> Function::get_data(int time_buffer) const {
  check_buffer(*d_, time_buffer);
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(d_->grid.size()));
  advise_huge_pages(out.data(), out.capacity() * sizeof(double));
  out.resize(static_cast<std::size_t>(d_->grid.size()));
  for_each_row(*this, time_buffer, out.data(), [](double *o, const auto *row, std::int64_t len) {
    for (std::int64_t k = 0; k < len; ++k) o[k] = static_cast<double>(row[k]);
  });
  return out;
}

void Function::add_data_to(std::span<double> sum, int time_buffer) const {
  check_buffer(*d_, time_buffer);
  TENET_USER_CHECK(sum.size() == static_cast<std::size_t>(d_->grid.size()), name(), ".add_data_to: the sum has ",
                   sum.size(), " values but the grid has ", d_->grid.size(), " points");
  for_each_row(*this, time_buffer, sum.data(), [](double *o, const auto *row, std::int64_t len) {
    for (std::int64_t k = 0; k < len; ++k) o[k] += static_cast<double>(row[k]);
  });
}

template <class T>
GridView<T> Function::view(int time_buffer) const {
  TENET_USER_CHECK((std::is_same_v<T, float> && d_->dtype == DType::Float32) ||
                       (std::is_same_v<T, double> && d_->dtype == DType::Float64),
                   name(), ".view: the field holds ", dtype_name(d_->dtype), "; ask for a view of that type");
  check_buffer(*d_, time_buffer);
  const Grid &g = d_->grid;
  std::vector<std::int64_t> sp(d_->alloc.end() - g.ndim(), d_->alloc.end());
  T *base = static_cast<T *>(d_->buffer.get()) + static_cast<std::size_t>(time_buffer) * d_->buffer_count();
  return GridView<T>(base, sp, d_->halo, g.shape());
}
template GridView<float> Function::view<float>(int) const;
template GridView<double> Function::view<double>(int) const;

// ---- TimeFunction ----

TimeFunction::TimeFunction(std::string name, const Grid &grid, int space_order, TimeFunctionOptions opts)
    : Function(nullptr) {
  check_name(name, "TimeFunction");
  TENET_USER_CHECK(opts.time_order == 1 || opts.time_order == 2, name, ": time order ", opts.time_order,
                   " is not supported; use 1 or 2");
  TENET_USER_CHECK(opts.save >= 0, name, ": save = ", opts.save, " must be 0 (modulo buffers) or the number of "
                   "time levels to keep");
  d_ = std::make_shared<FieldData>(std::move(name), FieldKind::TimeFunction, grid,
                                   opts.dtype_set ? opts.dtype : grid.dtype());
  d_->time_order = opts.time_order;
  d_->saved = opts.save > 0;
  TENET_USER_CHECK(opts.buffers == 0 || (opts.save == 0 && opts.buffers >= opts.time_order), d_->name(),
                   ": buffers = ", opts.buffers, " needs save = 0 and at least time_order = ", opts.time_order,
                   " (time_order: in place; time_order + 1: the default)");
  d_->nbuf = static_cast<int>(opts.save > 0 ? opts.save : opts.buffers > 0 ? opts.buffers : opts.time_order + 1);
  TENET_USER_CHECK(opts.save == 0 || d_->nbuf >= opts.time_order + 1, d_->name(), ": save = ", opts.save,
                   " is fewer than the ", opts.time_order + 1, " time levels one step needs");
  d_->alloc.push_back(d_->nbuf);
  layout_grid_field(*d_, space_order, opts.halo);
  d_->allocate();
}

std::shared_ptr<FieldData> time_function_like(const FieldData &f, std::int64_t save, int buffers) {
  TimeFunctionOptions to;
  to.dtype = f.dtype;
  to.dtype_set = true;
  to.halo = f.halo.empty() ? -1 : f.halo[0];
  to.time_order = f.time_order;
  to.save = save;
  to.buffers = buffers;
  return TimeFunction(f.name(), f.grid, f.space_order, to).data();
}

Expr TimeFunction::at(const Expr &time_index, std::vector<Expr> idx) const {
  TENET_USER_CHECK(static_cast<int>(idx.size()) == d_->grid.ndim(), name(), ": ", idx.size(),
                   " space indices given for a ", d_->grid.ndim(), "D function");
  idx.insert(idx.begin(), time_index);
  return access(d_, std::move(idx));
}
Expr TimeFunction::at_time(const Expr &time_index) const { return at(time_index, d_->grid.dims()); }
Expr TimeFunction::operator()() const { return at_time(d_->grid.time_dim()); }
Expr TimeFunction::forward() const { return at_time(d_->grid.time_dim() + 1); }
Expr TimeFunction::backward() const { return at_time(d_->grid.time_dim() - 1); }

// ---- Constant ----

Constant::Constant(std::string name, double value) : value_(std::make_shared<double>(value)) {
  check_name(name, "Constant");
  symbol_ = scalar_with_default(name, value_);
}

// ---- SparseTimeFunction ----

SparseTimeFunction::SparseTimeFunction(std::string name, const Grid &grid, std::int64_t npoint, std::int64_t nt)
    : SparseTimeFunction(std::move(name), grid, npoint, nt, grid.dtype()) {}

SparseTimeFunction::SparseTimeFunction(std::string name, const Grid &grid, std::int64_t npoint, std::int64_t nt,
                                       DType dtype) {
  check_name(name, "SparseTimeFunction");
  TENET_USER_CHECK(npoint >= 1, name, ": npoint = ", npoint, "; a sparse function needs at least one point");
  TENET_USER_CHECK(nt >= 1, name, ": nt = ", nt, "; it needs at least one time sample");
  d_ = std::make_shared<FieldData>(std::move(name), FieldKind::Sparse, grid, dtype);
  d_->npoint = npoint;
  d_->nt = nt;
  d_->alloc = {nt, npoint};
  d_->coordinates.assign(static_cast<std::size_t>(npoint * grid.ndim()), 0.0);
  for (std::int64_t p = 0; p < npoint; ++p)
    for (int i = 0; i < grid.ndim(); ++i) d_->coordinates[static_cast<std::size_t>(p * grid.ndim() + i)] = grid.origin()[static_cast<std::size_t>(i)];
  d_->allocate();
  p_ = symbol("p_" + d_->name(), SymbolKind::Dimension);
  d_->point_dim = p_;
}

Expr SparseTimeFunction::operator()() const { return access(d_, {d_->grid.time_dim(), p_}); }

void SparseTimeFunction::set_coordinates(const std::vector<double> &coords) {
  const Grid &g = d_->grid;
  TENET_USER_CHECK(coords.size() == static_cast<std::size_t>(d_->npoint * g.ndim()), name(), ".set_coordinates: got ",
                   coords.size(), " numbers, expected npoint*ndim = ", d_->npoint * g.ndim());
  for (std::int64_t p = 0; p < d_->npoint; ++p)
    for (int i = 0; i < g.ndim(); ++i) {
      double c = coords[static_cast<std::size_t>(p * g.ndim() + i)];
      double lo = g.origin()[static_cast<std::size_t>(i)], hi = lo + g.extent()[static_cast<std::size_t>(i)];
      if (std::isfinite(c) && c >= lo && c <= hi) continue;
      auto exact = [](double v) {  // the shortest text that reads back as v: 200.0000001 is outside [0, 200]
        char b[32];
        return std::string(b, std::to_chars(b, b + sizeof b, v).ptr);
      };
      throw Error(internal::cat(name(), ": point ", p, " has coordinate ", exact(c), " in dimension ", g.dim(i).str(),
                                ", outside the grid [", exact(lo), ", ", exact(hi), "]; move it inside the model"));
    }
  d_->coordinates = coords;
}

void SparseTimeFunction::set_data(std::span<const double> values) {
  TENET_USER_CHECK(values.size() == static_cast<std::size_t>(d_->nt * d_->npoint), name(), ".set_data: got ",
                   values.size(), " values, expected nt*npoint = ", d_->nt * d_->npoint);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (d_->dtype == DType::Float32) static_cast<float *>(d_->buffer.get())[i] = static_cast<float>(values[i]);
    else static_cast<double *>(d_->buffer.get())[i] = values[i];
  }
}

std::vector<double> SparseTimeFunction::get_data() const {
  std::vector<double> out(static_cast<std::size_t>(d_->nt * d_->npoint));
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = d_->dtype == DType::Float32 ? static_cast<const float *>(d_->buffer.get())[i]
                                         : static_cast<const double *>(d_->buffer.get())[i];
  return out;
}

double SparseTimeFunction::value(std::int64_t time, std::int64_t point) const {
  TENET_USER_CHECK(time >= 0 && time < d_->nt && point >= 0 && point < d_->npoint, name(), ": (", time, ", ",
                   point, ") is outside [0, ", d_->nt, ") x [0, ", d_->npoint, ")");
  std::size_t i = static_cast<std::size_t>(time * d_->npoint + point);
  return d_->dtype == DType::Float32 ? static_cast<const float *>(d_->buffer.get())[i]
                                     : static_cast<const double *>(d_->buffer.get())[i];
}

void SparseTimeFunction::set_value(std::int64_t time, std::int64_t point, double v) {
  TENET_USER_CHECK(time >= 0 && time < d_->nt && point >= 0 && point < d_->npoint, name(), ": (", time, ", ",
                   point, ") is outside [0, ", d_->nt, ") x [0, ", d_->npoint, ")");
  std::size_t i = static_cast<std::size_t>(time * d_->npoint + point);
  if (d_->dtype == DType::Float32) static_cast<float *>(d_->buffer.get())[i] = static_cast<float>(v);
  else static_cast<double *>(d_->buffer.get())[i] = v;
}

Eq SparseTimeFunction::inject(const Expr &target, const Expr &expr) const {
  const FieldData *f = field_of(target);
  TENET_USER_CHECK(f && f->on_grid(), name(),
                   ".inject: the target ", target.str(), " is not an access to a grid function");
  TENET_USER_CHECK(f->grid == d_->grid, name(), ".inject: ", f->name(), " lives on another grid");
  Eq e;
  e.kind = EqKind::Inject;
  e.lhs = target;
  e.rhs = expr;
  e.sparse = d_;
  return e;
}

Eq SparseTimeFunction::interpolate(const Expr &expr) const {
  Eq e;
  e.kind = EqKind::Interpolate;
  e.lhs = (*this)();
  e.rhs = expr;
  e.sparse = d_;
  return e;
}

const FieldData *field_of(const Expr &a) {
  if (!a.is_access()) return nullptr;
  return dynamic_cast<const FieldData *>(a->field.get());
}

std::shared_ptr<FieldData> field_ptr_of(const Expr &a) {
  if (!a.is_access()) return nullptr;
  return std::const_pointer_cast<FieldData>(std::dynamic_pointer_cast<const FieldData>(a->field));
}

// ---- Eq ----

Eq::Eq(Expr l, Expr r, std::string n) : kind(EqKind::Assign), lhs(std::move(l)), rhs(std::move(r)), note(std::move(n)) {
  TENET_USER_CHECK(lhs.defined() && rhs.defined(), "Eq: both sides must be given");
  TENET_USER_CHECK(lhs.is_access(), "Eq: the left-hand side ", lhs.str(),
                   " must be an access to a function, such as u.forward()");
}

Eq Inc(Expr lhs, Expr rhs, std::string note) {
  Eq e(std::move(lhs), std::move(rhs), std::move(note));
  e.kind = EqKind::Increment;
  return e;
}

std::string Eq::str() const {
  switch (kind) {
    case EqKind::Assign: return lhs.str() + " = " + rhs.str();
    case EqKind::Increment: return lhs.str() + " += " + rhs.str();
    case EqKind::Inject: return "inject " + sparse->name() + " into " + lhs.str() + ": " + rhs.str();
    case EqKind::Interpolate: return lhs.str() + (accumulate ? " += " : " = ") + "interpolate(" + rhs.str() + ")";
  }
  return "";
}

}  // namespace tenet
