#include "operator/Operator.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "codegen/CodeGenC.h"
#include "ir/Lower.h"
#include "support/Error.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void check_compatible(const FieldData &want, const FieldData &got) {
  TENET_USER_CHECK(want.kind == got.kind, "field '", got.name(), "' given for '", want.name(),
                   "' is a different kind of function");
  TENET_USER_CHECK(want.dtype == got.dtype, "field '", got.name(), "' given for '", want.name(), "' holds ",
                   dtype_name(got.dtype), ", the operator was built for ", dtype_name(want.dtype));
  TENET_USER_CHECK(want.grid.shape() == got.grid.shape() && want.alloc == got.alloc && want.halo == got.halo &&
                       want.npoint == got.npoint,
                   "shape mismatch: field '", got.name(), "' given for '", want.name(),
                   "' has another shape, halo or number of time buffers; create it like '", want.name(), "'");
  TENET_USER_CHECK(want.levels_by_reference == got.levels_by_reference, "field '", got.name(), "' given for '",
                   want.name(), "' ", got.levels_by_reference ? "has" : "does not have",
                   " its time levels by reference, unlike the one the operator was built for");
  TENET_USER_CHECK(want.saved == got.saved, "field '", got.name(), "' given for '", want.name(), "' ",
                   got.saved ? "keeps its whole history (save)" : "cycles through modulo time buffers",
                   " but the operator was built for one that ",
                   want.saved ? "keeps its whole history; create it with the same save" : "cycles (save = 0)");
}

// Cell index and multilinear weights of every point of a sparse function.
void fill_tables(const SparseTables &t, const FieldData &sp) {
  const Grid &g = sp.grid;
  const int nd = g.ndim();
  auto *idx = static_cast<std::int32_t *>(t.index->buffer.get());
  for (std::int64_t p = 0; p < sp.npoint; ++p) {
    double frac[3] = {0.0, 0.0, 0.0};
    for (int d = 0; d < nd; ++d) {
      const auto du = static_cast<std::size_t>(d);
      double c = sp.coordinates[static_cast<std::size_t>(p * nd + d)];
      double pos = (c - g.origin()[du]) / g.spacing()[du];
      auto i0 = static_cast<std::int64_t>(std::floor(pos));
      i0 = std::clamp<std::int64_t>(i0, 0, g.shape()[du] - 2);
      idx[p * nd + d] = static_cast<std::int32_t>(i0);
      frac[d] = std::clamp(pos - static_cast<double>(i0), 0.0, 1.0);
    }
    for (int c = 0; c < (1 << nd); ++c) {
      double w = 1.0;
      for (int d = 0; d < nd; ++d) w *= ((c >> (nd - 1 - d)) & 1) ? frac[d] : 1.0 - frac[d];
      std::size_t at = static_cast<std::size_t>(p * (1 << nd) + c);
      if (t.weight->dtype == DType::Float32) static_cast<float *>(t.weight->buffer.get())[at] = static_cast<float>(w);
      else static_cast<double *>(t.weight->buffer.get())[at] = w;
    }
  }
}

constexpr std::int64_t small_grid_points = 32768;

// The autotuner's memo: block sizes as text, one per line.
std::vector<std::int64_t> read_tuned(const std::string &path, std::size_t expected) {
  std::ifstream f(path);
  std::vector<std::int64_t> sizes;
  std::int64_t v;
  while (f >> v) {
    if (v < 1) return {};
    sizes.push_back(v);
  }
  return sizes.size() == expected ? sizes : std::vector<std::int64_t>{};
}

// Written to a temporary name and renamed, like the cache entries; failures only cost a retune.
void write_tuned(const std::string &path, const std::vector<std::int64_t> &sizes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp);
    for (auto v : sizes) f << v << "\n";
    if (!f) {
      std::remove(tmp.c_str());
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
}

// Time offsets k of the accesses u[t + k] of each field with time, as (min, max).
std::map<std::string, std::pair<std::int64_t, std::int64_t>> compute_time_offsets(const Kernel &kernel_);

std::string shape_key(const Grid &g, int threads) {
  std::string s;
  for (auto n : g.shape()) s += std::to_string(n) + "x";
  return s + "t" + std::to_string(threads);
}

}  // namespace

struct Operator::Bound {
  std::vector<void *> fields;
  std::vector<long> sizes, ia;
  std::vector<double> sa;
  std::int64_t steps = 1;
  std::vector<std::shared_ptr<FieldData>> data;  // the fields in use, after overrides
};

Operator::Operator(std::vector<Eq> eqs, OperatorOptions opts) {
  auto t0 = Clock::now();
  LowerOptions lo;
  lo.name = opts.name;
  lo.backward = opts.backward;
  kernel_ = lower(eqs, lo);
  // Scalars are passed by name (ApplyArgs::scalars): two different symbols of one name, such as
  // a Constant called "dt" beside the grid's time step, would silently take the same value.
  std::set<std::string> scalar_seen;
  for (const Expr &s : kernel_.scalar_args)
    TENET_USER_CHECK(scalar_seen.insert(s->name).second, "two different scalars are named '", s->name,
                     "' (a Constant of that name beside the grid's own time step or spacing symbol of that name?); ",
                     "rename the Constant");
  run_pipeline(kernel_, opts.passes);
  source_ = generate_c(kernel_);
  build_seconds_ = since(t0);
  compiled_ = jit_compile(source_, kernel_.name);
  time_offsets_ = compute_time_offsets(kernel_);
  const int nd = kernel_.grid->ndim();
  for (const IntArg &a : kernel_.int_args)
    if (a.role == IntArg::Role::BlockSize) {
      // Defaults for the x (outer) and y block of a 3D nest, or the row block of a 2D one;
      // autotuning refines them per shape.
      blocks_[a.dim] = nd == 3 ? (a.dim == 0 ? 8 : 16) : 16;
    }
  // A time-tiled step works on a part only tile_width wide along x: a 2D row block as wide as
  // that leaves every thread but one idle.
  if (kernel_.time_tiled && blocks_.count(0) && blocks_per_tile_step(block_sizes()) < 4)
    blocks_[0] = std::max<std::int64_t>(1, kernel_.tile_width / 4);
}

std::int64_t Operator::blocks_per_tile_step(const std::vector<std::int64_t> &sizes) const {
  // Untiled, or pipelined (each thread runs its own tiles): no step shares a part.
  if (!kernel_.time_tiled || kernel_.tile_stages) return std::numeric_limits<std::int64_t>::max();
  std::int64_t n = 1;
  std::size_t i = 0;
  for (const auto &[d, unused] : blocks_) {
    const std::int64_t extent = d == 0 ? kernel_.tile_width : kernel_.grid->shape()[static_cast<std::size_t>(d)];
    n *= (extent + sizes[i] - 1) / sizes[i];
    ++i;
  }
  return n;
}

std::vector<std::int64_t> Operator::block_sizes() const {
  std::vector<std::int64_t> out;
  for (auto &[d, b] : blocks_) out.push_back(b);
  return out;
}

void Operator::set_block_sizes(const std::vector<std::int64_t> &sizes) {
  TENET_USER_CHECK(sizes.size() == blocks_.size(), "this operator blocks ", blocks_.size(), " loop(s); ",
                   sizes.size(), " block sizes given");
  std::size_t i = 0;
  for (auto &[d, b] : blocks_) {
    TENET_USER_CHECK(sizes[i] >= 1, "block size ", sizes[i], " must be positive");
    b = sizes[i++];
  }
}

std::vector<std::string> Operator::scalar_names() const {
  std::vector<std::string> out;
  const Grid &g = *kernel_.grid;
  for (const Expr &s : kernel_.scalar_args) {
    bool spacing = false;
    for (int d = 0; d < g.ndim(); ++d) spacing |= s == g.spacing_symbol(d);
    if (!spacing) out.push_back(s->name);
  }
  return out;
}

std::map<std::string, std::pair<std::int64_t, std::int64_t>> Operator::time_offsets() const { return time_offsets_; }

namespace {

std::map<std::string, std::pair<std::int64_t, std::int64_t>> compute_time_offsets(const Kernel &kernel_) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
  const Expr &t = kernel_.grid->time_dim();
  for (const Eq &e : kernel_.equations)
    for (const Expr &x : {e.lhs, e.rhs})
      for (const Expr &a : accesses(x)) {
        const FieldData *f = field_of(a);
        if (!f || !f->has_time()) continue;
        Expr off = a.ops()[0] - t;
        TENET_USER_CHECK(off.is_exact() && off.rational().is_integer(), "the time index of ", a.str(),
                         " must be t plus an integer");
        std::int64_t k = off.rational().num;
        auto it = out.find(f->name());
        if (it == out.end()) out[f->name()] = {k, k};
        else it->second = {std::min(it->second.first, k), std::max(it->second.second, k)};
      }
  return out;
}

}  // namespace

Operator::Bound Operator::bind(const ApplyArgs &args) {
  Bound b;
  const Grid &g = *kernel_.grid;
  // Fields, with overrides by name.
  std::set<std::string> used;
  for (const auto &f : kernel_.fields) {
    std::shared_ptr<FieldData> d = f;
    auto it = args.fields.find(f->name());
    if (it != args.fields.end() && f->kind != FieldKind::Table) {
      TENET_USER_CHECK(it->second != nullptr, "field '", f->name(), "' given as null");
      check_compatible(*f, *it->second);
      d = it->second;
      used.insert(f->name());
    }
    b.data.push_back(d);
    if (d->levels_by_reference) {
      TENET_USER_CHECK(d->levels.size() == static_cast<std::size_t>(d->nbuf) &&
                           std::none_of(d->levels.begin(), d->levels.end(), [](void *p) { return p == nullptr; }),
                       "field '", d->name(), "' takes its ", d->nbuf, " time levels by reference, but ",
                       d->levels.size(), " were set or one is null; set `levels` before apply");
      b.fields.push_back(d->levels.data());
    } else {
      b.fields.push_back(d->buffer.get());
    }
    for (auto a : d->alloc) b.sizes.push_back(static_cast<long>(a));
  }
  for (const auto &[name, f] : args.fields)
    TENET_USER_CHECK(used.count(name), "unknown field '", name, "': this operator has no field of that name");
  // Sparse tables from the coordinates of the sparse functions in use (rebuilt only when the
  // coordinates or the function changed: apply is called once per step by checkpointing).
  table_coordinates_.resize(kernel_.tables.size());
  table_sources_.resize(kernel_.tables.size(), nullptr);
  for (std::size_t i = 0; i < kernel_.tables.size(); ++i) {
    const SparseTables &t = kernel_.tables[i];
    const FieldData *sp = t.sparse.get();
    for (const auto &d : b.data)
      if (d->name() == t.sparse->name() && d->kind == FieldKind::Sparse) sp = d.get();
    if (table_sources_[i] == sp && table_coordinates_[i] == sp->coordinates) continue;
    fill_tables(t, *sp);
    table_sources_[i] = sp;
    table_coordinates_[i] = sp->coordinates;
  }
  // Time range.
  if (kernel_.has_time) {
    TENET_USER_CHECK(args.time_M >= args.time_m, "missing or empty time range: time_m = ", args.time_m,
                     ", time_M = ", args.time_M, "; set ApplyArgs::time_M to the last time step to run");
    TENET_USER_CHECK(args.time_m >= 0, "time_m = ", args.time_m, " is negative; time steps start at 0");
    // Kernels index levels t + offset and loop `t <= time_M`: both must stay far from overflow.
    TENET_USER_CHECK(args.time_M <= (std::int64_t(1) << 60), "time_M = ", args.time_M,
                     " is beyond the last time step Tenet can index (2^60)");
    b.steps = args.time_M - args.time_m + 1;
    const auto &offsets = time_offsets_;
    for (std::size_t i = 0; i < b.data.size(); ++i) {
      const FieldData *d = b.data[i].get();
      std::int64_t levels = 0;
      const char *what = "";
      if (d->kind == FieldKind::TimeFunction && d->saved) {
        levels = d->nbuf;
        what = "saved time levels";
      } else if (d->kind == FieldKind::Sparse) {
        levels = d->nt;
        what = "time samples";
      } else {
        continue;
      }
      auto it = offsets.find(kernel_.fields[i]->name());  // the offsets of the field `d` stands in for
      if (it == offsets.end()) continue;
      std::int64_t lo = args.time_m + it->second.first, hi = args.time_M + it->second.second;
      TENET_USER_CHECK(lo >= 0 && hi < levels, "time range [", args.time_m, ", ", args.time_M, "] accesses ",
                       d->name(), " at times ", lo, " to ", hi, ", but it has ", levels, " ", what, " (0 to ",
                       levels - 1, "); shorten the time range or create it with more");
    }
  }
  // Integer arguments.
  for (const IntArg &a : kernel_.int_args) {
    switch (a.role) {
      case IntArg::Role::TimeMin: b.ia.push_back(static_cast<long>(args.time_m)); break;
      case IntArg::Role::TimeMax: b.ia.push_back(static_cast<long>(args.time_M)); break;
      case IntArg::Role::DimMin: b.ia.push_back(0); break;
      case IntArg::Role::DimMax: b.ia.push_back(static_cast<long>(g.shape()[static_cast<std::size_t>(a.dim)] - 1)); break;
      case IntArg::Role::BlockSize: b.ia.push_back(static_cast<long>(blocks_.at(a.dim))); break;
    }
  }
  // Scalars: spacings from the grid, the rest by name (Constants default to their value).
  std::set<std::string> known;
  for (const Expr &s : kernel_.scalar_args) {
    int spacing = -1;
    for (int d = 0; d < g.ndim(); ++d)
      if (s == g.spacing_symbol(d)) spacing = d;
    if (spacing >= 0) {
      b.sa.push_back(g.spacing()[static_cast<std::size_t>(spacing)]);
      continue;
    }
    known.insert(s->name);
    auto it = args.scalars.find(s->name);
    if (it != args.scalars.end()) {
      TENET_USER_CHECK(std::isfinite(it->second), "argument '", s->name, "' = ", it->second, " is not finite");
      TENET_USER_CHECK(s != g.dt() || it->second > 0, "the time step 'dt' = ", it->second, " must be positive");
      b.sa.push_back(it->second);
    } else if (s->default_value) {
      b.sa.push_back(*s->default_value);
    } else {
      std::string all;
      for (const auto &n : scalar_names()) all += (all.empty() ? "" : ", ") + n;
      throw Error(internal::cat("missing argument '", s->name, "': this operator needs ", all,
                                "; pass it in ApplyArgs::scalars[\"", s->name, "\"]"));
    }
  }
  for (const auto &[name, v] : args.scalars) {
    if (known.count(name)) continue;
    std::string all;
    for (const auto &n : scalar_names()) all += (all.empty() ? "" : ", ") + n;
    throw Error(internal::cat("unknown argument '", name, "': this operator takes ", all.empty() ? "no scalars" : all));
  }
  return b;
}

void Operator::run(const Bound &b) const {
  int rc = compiled_.function(b.fields.data(), b.sizes.data(), b.ia.data(), b.sa.data());
  TENET_INTERNAL_CHECK(rc == 0, "kernel ", kernel_.name, " returned ", rc);
}

void Operator::autotune(const ApplyArgs &args) {
  if (blocks_.empty()) return;
  const int threads = omp_get_max_threads();
  const std::string key = shape_key(*kernel_.grid, threads);
  auto it = tuned_.find(key);
  if (it != tuned_.end()) {
    set_block_sizes(it->second);
    return;
  }
  // Remembered across runs too: next to the kernel in the JIT cache, one small file per shape
  // and thread count. An unreadable or stale file is ignored (tuned again). v2: choices of the
  // repeated timings below (those of single timings, v1, are not reused); v3: with the long
  // y blocks and the rounds that keep ten, then four (v2 chose without them).
  const std::string memo = compiled_.library_path + ".tune-v3-" + key;
  // Time-tiled kernels: only sizes that give every thread a block of each tile step (a memo
  // written before this rule, with one 16-row block per step in 2D, is tuned again).
  auto busy = [&](const std::vector<std::int64_t> &c) { return blocks_per_tile_step(c) >= threads; };
  if (std::vector<std::int64_t> sizes = read_tuned(memo, blocks_.size()); !sizes.empty() && busy(sizes)) {
    set_block_sizes(sizes);
    tuned_[key] = sizes;
    return;
  }
  // A short run of each candidate on the real data, restored afterwards: the fields the
  // equations write, and of a field with its whole history (save = N, gigabytes in a gradient's
  // forward) only the levels the trial steps touch.
  ApplyArgs trial = args;
  trial.time_M = kernel_.has_time ? std::min(args.time_M, args.time_m + 2) : args.time_M;
  Bound b = bind(trial);
  std::set<std::string> written;
  for (const Eq &e : kernel_.equations)
    if (const FieldData *f = field_of(e.lhs)) written.insert(f->name());
  struct Saved {
    unsigned char *at;
    std::vector<unsigned char> bytes;
  };
  std::vector<Saved> saved;
  auto keep = [&](void *at, std::size_t n) {
    auto *p = static_cast<unsigned char *>(at);
    saved.push_back({p, std::vector<unsigned char>(p, p + n)});
  };
  for (const auto &d : b.data) {
    if (!written.count(d->name())) continue;
    auto levels = time_offsets_.find(d->name());
    // Levels by reference lie elsewhere: only the touched ones, where they are.
    if (!(d->saved || d->levels_by_reference) || levels == time_offsets_.end()) {
      keep(d->buffer.get(), d->buffer.bytes());
      continue;
    }
    std::set<std::int64_t> touched;
    for (std::int64_t t = trial.time_m; t <= trial.time_M; ++t)
      for (std::int64_t k = levels->second.first; k <= levels->second.second; ++k)
        touched.insert(d->buffer_of(t + k));
    const std::size_t level_bytes = d->buffer_count() * d->element_size();
    for (std::int64_t l : touched)
      keep(d->levels_by_reference ? d->levels[static_cast<std::size_t>(l)]
                                  : static_cast<unsigned char *>(d->buffer.get()) + static_cast<std::size_t>(l) * level_bytes,
           level_bytes);
  }
  std::vector<std::vector<std::int64_t>> candidates;
  const std::vector<std::int64_t> sizes = {4, 8, 16, 32, 64};
  if (blocks_.size() == 1) {
    for (auto s : sizes) candidates.push_back({s});
  } else {
    // Long blocks along y too (up to 256 rows, not past the first that spans y): an untiled
    // kernel bound by memory, such as a forward saving its history, streams whole runs of rows.
    // 256^3 order 8, such a forward: [8, 128] 0.38-0.47 s against [8, 8] 0.43-0.55 s (7 runs).
    const std::int64_t ny = kernel_.grid->shape()[1];
    std::vector<std::int64_t> ys;
    for (std::int64_t y : {4, 8, 16, 32, 64, 128, 256})
      if (ys.empty() || ys.back() < ny) ys.push_back(y);
    for (auto x : sizes)
      for (auto y : ys)
        if (x <= 32) candidates.push_back({x, y});
  }
  std::erase_if(candidates, [&](const std::vector<std::int64_t> &c) { return !busy(c); });
  if (candidates.empty()) candidates.push_back(block_sizes());
  // One timing of a short run is at the mercy of the machine's noise (on a shared 2-core VM a
  // step's time varies by 30%, in bursts longer than a run), and the choice is remembered for
  // good: an untimed run first (pages faulted in, caches warm), one timing of every candidate,
  // then rounds that keep fewer and time them again, interleaved, each keeping its best (the
  // ten fastest once more, then the four fastest twice), so that one unlucky timing does not
  // rule a candidate out.
  auto time_of = [&](const std::vector<std::int64_t> &c) {
    set_block_sizes(c);
    Bound bc = bind(trial);
    auto t0 = Clock::now();
    run(bc);
    return since(t0);
  };
  (void)time_of(block_sizes());
  std::vector<std::pair<double, std::size_t>> timed;
  for (std::size_t i = 0; i < candidates.size(); ++i) timed.emplace_back(time_of(candidates[i]), i);
  for (const auto &[keep, rounds] : {std::pair<std::size_t, int>{10, 1}, {4, 2}}) {
    std::sort(timed.begin(), timed.end());
    timed.resize(std::min(timed.size(), keep));
    for (int round = 0; round < rounds; ++round)
      for (auto &[t, i] : timed) t = std::min(t, time_of(candidates[i]));
  }
  const std::vector<std::int64_t> best = candidates[std::min_element(timed.begin(), timed.end())->second];
  for (const Saved &k : saved) std::memcpy(k.at, k.bytes.data(), k.bytes.size());
  set_block_sizes(best);
  tuned_[key] = best;
  write_tuned(memo, best);
}

PerfReport Operator::apply(const ApplyArgs &args) {
  const int previous = omp_get_max_threads();
  TENET_USER_CHECK(args.threads >= 0, "threads = ", args.threads, " must be 0 (keep) or positive");
  // Far more threads than processors only slow a kernel down, and OpenMP runtimes fail (or
  // crash) creating tens of thousands.
  const int most_threads = std::max(256, 8 * omp_get_num_procs());
  TENET_USER_CHECK(args.threads <= most_threads, "threads = ", args.threads, " is more than ", most_threads,
                   " (8 per processor, this machine has ", omp_get_num_procs(), "); use at most the processors' count");
  // Small grids run on one thread unless asked otherwise: a parallel region per time step
  // costs more than it saves below a few tens of thousands of points.
  int threads = args.threads;
  if (threads == 0 && kernel_.grid->size() < small_grid_points) threads = 1;
  if (threads > 0) omp_set_num_threads(threads);
  PerfReport r;
  try {
    if (args.autotune) autotune(args);
    Bound b = bind(args);
    auto t0 = Clock::now();
    run(b);
    r.seconds = since(t0);
    r.steps = b.steps;
  } catch (...) {
    if (threads > 0) omp_set_num_threads(previous);
    throw;
  }
  if (threads > 0) omp_set_num_threads(previous);
  r.points = kernel_.grid->size() * r.steps;
  r.gpts = r.seconds > 0 ? static_cast<double>(r.points) / r.seconds / 1e9 : 0.0;
  return r;
}

}  // namespace tenet
