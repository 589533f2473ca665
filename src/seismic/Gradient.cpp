#include "seismic/Gradient.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "checkpoint/DiskStorage.h"
#include "checkpoint/MemoryStorage.h"
#include "support/Bytes.h"
#include "support/DType.h"
#include "support/Error.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Time offsets k of the accesses f[t + k] in the forward equations, split by read and write.
struct Offsets {
  std::set<std::int64_t> read, written;
  std::int64_t lo() const { return std::min(read.empty() ? 0 : *read.begin(), written.empty() ? 0 : *written.begin()); }
  std::int64_t hi() const { return std::max(read.empty() ? 0 : *read.rbegin(), written.empty() ? 0 : *written.rbegin()); }
};

std::int64_t time_offset(const Expr &a, const Grid &g) {
  Expr off = a.ops()[0] - g.time_dim();
  TENET_USER_CHECK(off.is_exact() && off.rational().is_integer(), "gradient: the time index of ", a.str(),
                   " is not t plus an integer");
  return off.rational().num;
}

Offsets offsets_of(const std::vector<Eq> &eqs, const FieldData *f) {
  Offsets o;
  for (const Eq &e : eqs) {
    for (const Expr &a : accesses(e.rhs))
      if (field_of(a) == f) o.read.insert(time_offset(a, f->grid));
    if (e.lhs.defined() && field_of(e.lhs) == f) {
      const std::int64_t k = time_offset(e.lhs, f->grid);
      o.written.insert(k);
      if (e.kind == EqKind::Increment || e.kind == EqKind::Inject) o.read.insert(k);  // read-modify-write
    }
    for (const Expr &a : accesses(e.lhs))
      if (a != e.lhs && field_of(a) == f) o.read.insert(time_offset(a, f->grid));
  }
  return o;
}

// The equations with accesses of some fields redirected to others (same indices).
std::vector<Eq> replace_fields(const std::vector<Eq> &eqs,
                               const std::map<const FieldData *, std::shared_ptr<FieldData>> &with) {
  auto redirect = [&](const Expr &e) {
    if (!e.defined()) return e;
    return rewrite(e, [&](const Expr &n) {
      if (n.is_access()) {
        auto it = with.find(field_of(n));
        if (it != with.end()) return access(it->second, n.ops());
      }
      return n;
    });
  };
  std::vector<Eq> out;
  for (const Eq &e : eqs) {
    Eq r = e;
    r.lhs = redirect(e.lhs);
    r.rhs = redirect(e.rhs);
    r.residual = redirect(e.residual);
    out.push_back(r);
  }
  return out;
}

// The adjoint fields and the gradient are cleared before every gradient, hundreds of MB at 256^3.
void zero(FieldData &f) { clear_bytes(f.buffer.get(), f.count() * f.element_size()); }

void zero_buffer(FieldData &f, std::int64_t b) {
  const std::size_t n = f.buffer_count() * f.element_size();
  clear_bytes(static_cast<unsigned char *>(f.buffer.get()) + static_cast<std::size_t>(b) * n, n);
}

double sparse_value(const FieldData &s, std::size_t i) {
  return s.dtype == DType::Float32 ? static_cast<const float *>(s.buffer.get())[i]
                                   : static_cast<const double *>(s.buffer.get())[i];
}

void set_sparse_value(FieldData &s, std::size_t i, double v) {
  if (s.dtype == DType::Float32) static_cast<float *>(s.buffer.get())[i] = static_cast<float>(v);
  else static_cast<double *>(s.buffer.get())[i] = v;
}

// `args` with only the scalars `op` takes: a forward and its adjoint share one set of
// arguments, but Operator::apply refuses scalars an operator does not read (the adjoint of the
// acoustic update reads dt only in its `prepare` operator).
ApplyArgs args_for(const Operator &op, const ApplyArgs &args) {
  ApplyArgs a = args;
  a.scalars.clear();
  for (const std::string &n : op.scalar_names()) {
    auto it = args.scalars.find(n);
    if (it != args.scalars.end()) a.scalars.insert(*it);
  }
  return a;
}

}  // namespace

// Forward steps OperatorCheckpointable::reverse_step runs when executing `s`: every reverse
// step's with `tape`, else those of steps no Advance has reached before.
static std::int64_t taped_steps(const Schedule &s, bool tape) {
  std::int64_t n = 0;
  int reached = 0;
  for (const Action &a : s.actions) {
    if (a.kind == ActionKind::Advance) reached = std::max(reached, a.t1);
    if (a.kind != ActionKind::Reverse || !(tape || a.t0 >= reached)) continue;
    ++n;
    reached = std::max(reached, a.t0 + 1);
  }
  return n;
}

// ---- OperatorCheckpointable ----

OperatorCheckpointable::OperatorCheckpointable(Operator &forward, DerivativeOperator &adjoint,
                                               std::vector<std::shared_ptr<FieldData>> state, std::int64_t time_m,
                                               std::int64_t time_M, ApplyArgs args)
    : forward_(forward), adjoint_(adjoint), state_fields_(std::move(state)), time_m_(time_m), time_M_(time_M),
      args_(std::move(args)) {
  TENET_USER_CHECK(adjoint_.op != nullptr, "checkpointed adjoint: the adjoint operator is empty");
  TENET_USER_CHECK(time_M_ >= time_m_, "checkpointed adjoint: the time range [", time_m_, ", ", time_M_,
                   "] is empty; give time_M >= time_m");
  TENET_USER_CHECK(time_M_ - time_m_ + 1 <= 1000000000, "checkpointed adjoint: too many steps");
  TENET_USER_CHECK(!state_fields_.empty(), "checkpointed adjoint: name the TimeFunction(s) the forward advances");
  // The adjoint must come from the forward's own equations: one built from another problem's
  // (fields of the same names) would read that problem's data and reverse nothing of this one.
  // (Tables of sparse positions are each operator's own.)
  for (const auto &g : adjoint_.op->kernel().fields)
    for (const auto &f : forward_.kernel().fields)
      TENET_USER_CHECK(g->kind == FieldKind::Table || g->name() != f->name() || g == f,
                       "checkpointed adjoint: the adjoint reads a field '", g->name(),
                       "' that is not the forward's field of that name; build the adjoint from the forward's own "
                       "equations");
  std::set<const FieldData *> in_state;
  const auto &eqs = forward_.kernel().equations;
  for (const auto &f : state_fields_) {
    TENET_USER_CHECK(f && f->kind == FieldKind::TimeFunction, "checkpointed adjoint: state field '",
                     f ? f->name() : std::string("(null)"), "' is not a TimeFunction");
    TENET_USER_CHECK(!f->saved, "checkpointed adjoint: '", f->name(), "' keeps its whole history (save = ", f->nbuf,
                     "), so there is nothing to checkpoint; build it with modulo buffers (save = 0), or use "
                     "the full-history gradient");
    TENET_USER_CHECK(forward_.time_offsets().count(f->name()), "checkpointed adjoint: state field '", f->name(),
                     "' is not used by the forward operator; name only the TimeFunctions its equations advance");
    in_state.insert(f.get());
    // The adjoint of step t reads levels the forward step t has just left in the buffers.
    const Offsets o = offsets_of(eqs, f.get());
    auto needs = adjoint_.forward_needs.find(f->name());
    if (needs == adjoint_.forward_needs.end()) continue;
    for (std::int64_t k : needs->second)
      TENET_USER_CHECK(k <= o.hi() && k > o.hi() - f->nbuf, "checkpointed adjoint: the adjoint reads ", f->name(),
                       "[t", (k < 0 ? "" : "+"), k, "], which is not among the ", f->nbuf,
                       " time levels held after forward step t");
  }
  // No taping step when the adjoint reads only levels that state s holds (those step s reads).
  tape_ = false;
  const auto levels = forward_.time_offsets();
  for (const auto &f : state_fields_) {
    auto needs = adjoint_.forward_needs.find(f->name());
    auto held = levels.find(f->name());
    if (needs == adjoint_.forward_needs.end() || held == levels.end()) continue;
    for (std::int64_t k : needs->second) tape_ |= k < held->second.first || k >= held->second.second;
  }
  for (const Eq &e : eqs) {
    const FieldData *w = field_of(e.lhs);
    if (!w || (w->kind != FieldKind::Function && w->kind != FieldKind::TimeFunction)) continue;
    TENET_USER_CHECK(in_state.count(w), "checkpointed adjoint: the forward writes '", w->name(),
                     "' but it is not part of the state; add it to the state fields so checkpoints restore it");
  }
}

void OperatorCheckpointable::forward(int t0, int t1) {
  TENET_USER_CHECK(0 <= t0 && t0 <= t1 && t1 <= steps(), "checkpointed adjoint: forward(", t0, ", ", t1,
                   ") is outside the ", steps(), " steps");
  if (t0 == t1) return;
  ApplyArgs a = args_for(forward_, args_);
  a.time_m = operator_time(t0);
  a.time_M = operator_time(t1 - 1);
  forward_.apply(a);
  reached_ = std::max(reached_, t1);
}

OperatorCheckpointable::~OperatorCheckpointable() = default;

void OperatorCheckpointable::prepare() {
  if (prepared_) return;
  adjoint_.run_prepare(args_);
  prepared_ = true;
}

void OperatorCheckpointable::reverse_step(int s) {
  prepare();
  if (tape_ || s >= reached_) {
    forward(s, s + 1);
    ++taped_steps_;
  }
  const std::int64_t t = operator_time(s);
  if (before_adjoint) before_adjoint(t);
  ApplyArgs a = args_for(*adjoint_.op, args_);
  a.time_m = t;
  a.time_M = t;
  adjoint_.op->apply(a);
}

void OperatorCheckpointable::reverse(int t0, int t1) {
  TENET_USER_CHECK(0 <= t0 && t0 < t1 && t1 <= steps(), "checkpointed adjoint: reverse(", t0, ", ", t1,
                   ") is outside the ", steps(), " steps or empty");
  if (t1 == t0 + 1) {
    reverse_step(t0);
    return;
  }
  MemoryStorage copy;
  const State st = state();
  copy.save(0, st);
  for (int s = t1 - 1; s >= t0; --s) {
    forward(t0, s);
    reverse_step(s);
    if (s > t0) copy.load(0, st);
  }
}

// Buffer `b` of a state field, whole (halo included), shaped like the allocated grid.
static BufferRef buffer_ref(const FieldData &f, std::int64_t b) {
  const std::size_t n = f.buffer_count();
  BufferRef r;
  r.data = static_cast<unsigned char *>(f.buffer.get()) + static_cast<std::size_t>(b) * n * f.element_size();
  r.count = n;
  r.dtype = f.dtype;
  r.shape.assign(f.alloc.begin() + 1, f.alloc.end());
  return r;
}

// ---- Checkpoints by reference ----
//
// Revolve's innermost sweeps recompute states t0+1 .. t1 from a restored state t0, save each
// only to restore it right before its own reverse step, and reverse t1 down to t0 one step per
// call. With the acoustic gradient summed by parts such a slot holds one level (u[t]). Copied
// out and back, and reversed one step at a time, where every step streams all its arrays from
// memory, that cost at 256^3 order 8 (50 steps, 8 snapshots) 0.2-0.4 s of copies and a
// reverse step 1.5 times a time-tiled forward step. Here twins of the forward and the adjoint
// reach the state fields' levels through tables of pointers (FieldData::levels_by_reference):
// the forward writes a window's levels straight into the slots, the adjoint reads them there,
// all of the window's reverse steps in one (time-tiled) call. The same arithmetic on the same
// values, so the same bits.

struct OperatorCheckpointable::ByReference {
  int longest = 0;  // the most steps a window takes (0: single reverse steps only)
  // Per state field, its twin with levels by reference (modulo levels; only its table is used).
  std::map<std::string, std::shared_ptr<FieldData>> twins;
  std::unique_ptr<Operator> forward, adjoint;  // forward only with windows
};

int OperatorCheckpointable::prepare_by_reference(int longest) {
  if (tape_) return -1;
  // Windows need every level a forward step writes to be one a reverse step reads: then the
  // slots of states t0+1 .. t1 hold all of them.
  const auto offsets = forward_.time_offsets();
  bool windows = true;
  for (const auto &f : state_fields_) {
    auto needs = adjoint_.forward_needs.find(f->name());
    const std::int64_t hi = offsets.at(f->name()).second;
    windows &= needs != adjoint_.forward_needs.end() && needs->second == std::set<std::int64_t>{hi - 1};
  }
  const int most = windows ? std::max(0, longest) : 0;
  if (by_reference_ && by_reference_->longest >= most) return by_reference_->longest;
  auto r = std::make_unique<ByReference>();
  r->longest = most;
  std::map<const FieldData *, std::shared_ptr<FieldData>> with;
  for (const auto &f : state_fields_) {
    const auto &[lo, hi] = offsets.at(f->name());
    // Levels t0 + lo .. t1 - 1 + hi of a window, each in its own table entry.
    std::shared_ptr<FieldData> twin = time_function_like(*f, 0, most + static_cast<int>(hi - lo));
    twin->buffer = AlignedBuffer();  // its levels lie elsewhere: no memory of its own
    twin->levels_by_reference = true;
    twin->levels.assign(static_cast<std::size_t>(twin->nbuf), nullptr);
    r->twins[f->name()] = twin;
    with[f.get()] = twin;
  }
  if (most > 0) {
    OperatorOptions fo;
    fo.name = "checkpoint_forward_by_reference";
    r->forward = std::make_unique<Operator>(replace_fields(forward_.kernel().equations, with), fo);
  }
  OperatorOptions ao;
  ao.name = "checkpoint_adjoint_by_reference";
  ao.backward = true;
  r->adjoint = std::make_unique<Operator>(replace_fields(adjoint_.equations, with), ao);
  by_reference_ = std::move(r);
  return most;
}

// Runs `op` (a twin) over operator times time_m..time_M with the twins' tables as set.
void OperatorCheckpointable::run_by_reference(Operator &op, std::int64_t time_m, std::int64_t time_M) {
  ApplyArgs a = args_for(op, args_);
  for (const auto &f : op.kernel().fields)
    if (auto twin = by_reference_->twins.find(f->name()); twin != by_reference_->twins.end())
      a.fields.insert_or_assign(twin->first, twin->second);
  a.time_m = time_m;
  a.time_M = time_M;
  op.apply(a);
}

// Zeroes the halo (and the rows' padding) of one buffer of grid field `f` at `level`: a slot the
// forward writes in place holds whatever it held before outside the interior, which the next
// step's stencil reads (a field's own buffers are zero there from their allocation).
static void zero_halo(void *level, const FieldData &f) {
  const std::size_t e = f.element_size();
  const int nd = f.grid.ndim();
  std::int64_t a[3] = {1, 1, 1}, lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};  // allocated extent, interior [lo, hi)
  for (int d = 0; d < nd; ++d) {
    const int k = 3 - nd + d;
    a[k] = f.alloc[static_cast<std::size_t>(1 + d)];
    lo[k] = f.halo[static_cast<std::size_t>(d)];
    hi[k] = lo[k] + f.grid.shape()[static_cast<std::size_t>(d)];
  }
  auto *p = static_cast<unsigned char *>(level);
  const std::size_t row = static_cast<std::size_t>(a[2]) * e, plane = static_cast<std::size_t>(a[1]) * row;
  for (std::int64_t x = 0; x < a[0]; ++x) {
    unsigned char *px = p + static_cast<std::size_t>(x) * plane;
    if (x < lo[0] || x >= hi[0]) {
      std::memset(px, 0, plane);
      continue;
    }
    for (std::int64_t y = 0; y < a[1]; ++y) {
      unsigned char *py = px + static_cast<std::size_t>(y) * row;
      if (y < lo[1] || y >= hi[1]) {
        std::memset(py, 0, row);
        continue;
      }
      std::memset(py, 0, static_cast<std::size_t>(lo[2]) * e);
      std::memset(py + static_cast<std::size_t>(hi[2]) * e, 0, static_cast<std::size_t>(a[2] - hi[2]) * e);
    }
  }
}

// Every entry of every twin's table at the field's own first buffer (entries the call will not
// touch must still point somewhere valid).
static void reset_tables(const std::vector<std::shared_ptr<FieldData>> &fields,
                         std::map<std::string, std::shared_ptr<FieldData>> &twins) {
  for (const auto &f : fields) {
    auto &levels = twins.at(f->name())->levels;
    std::fill(levels.begin(), levels.end(), f->buffer.get());
  }
}

bool OperatorCheckpointable::reverse_from(int s, const State &levels) {
  // The last step, until a forward has run it, needs that forward step first (its receivers).
  if (!by_reference_ || tape_ || s < 0 || s >= steps() - 1 || s >= reached_) return false;
  prepare();
  reset_tables(state_fields_, by_reference_->twins);
  const std::int64_t t = operator_time(s);
  std::size_t i = 0;  // levels come in reverse_state_at's order
  for (const auto &f : state_fields_) {
    auto needs = adjoint_.forward_needs.find(f->name());
    if (needs == adjoint_.forward_needs.end()) continue;
    FieldData &twin = *by_reference_->twins.at(f->name());
    for (std::int64_t k : needs->second) {
      TENET_INTERNAL_CHECK(i < levels.size() && levels[i].bytes() == f->buffer_count() * f->element_size(),
                           "reverse_from: levels laid out unlike reverse_state_at");
      twin.levels[static_cast<std::size_t>(twin.buffer_of(t + k))] = levels[i++].data;
    }
  }
  if (before_adjoint) before_adjoint(t);
  run_by_reference(*by_reference_->adjoint, t, t);
  return true;
}

bool OperatorCheckpointable::reverse_window(int t0, int t1, const std::vector<State> &levels, double &seconds_forward,
                                            const State *t0_state) {
  // Reverse step t1's levels may be left to the object's own buffers when state t0 comes in
  // t0_state (the executor then lends no slot for them).
  const bool own_last = t0_state && levels.size() == static_cast<std::size_t>(t1 - t0 - 1);
  if (!by_reference_ || tape_ || t0 < 0 || t0 >= t1 || t1 - t0 > by_reference_->longest || t1 >= steps() - 1 ||
      t1 >= reached_ || (levels.size() != static_cast<std::size_t>(t1 - t0) && !own_last))
    return false;
  // State t0's levels in state_at's layout: the object's own, or t0_state's where given (laid
  // out alike, else the window does not run).
  const State own = state_at(t0);
  const auto same_bytes = [](const BufferRef &a, const BufferRef &b) { return a.bytes() == b.bytes(); };
  if (t0_state && !std::equal(own.begin(), own.end(), t0_state->begin(), t0_state->end(), same_bytes)) return false;
  const State &t0_levels = t0_state ? *t0_state : own;
  const auto offsets = forward_.time_offsets();
  prepare();
  reset_tables(state_fields_, by_reference_->twins);
  const std::int64_t time0 = operator_time(t0);
  std::size_t next_start = 0;
  for (std::size_t i = 0; i < state_fields_.size(); ++i) {
    const FieldData &f = *state_fields_[i];
    FieldData &twin = *by_reference_->twins.at(f.name());
    const auto &[lo, hi] = offsets.at(f.name());
    // State t0 where t0_levels has it; the level step s writes (that state s + 1 holds for its
    // reverse step) in the slot of state s + 1.
    for (std::int64_t k = lo; k < hi; ++k)
      twin.levels[static_cast<std::size_t>(twin.buffer_of(time0 + k))] = t0_levels[next_start++].data;
    for (int s = t0 + 1; s <= t1; ++s) {
      const std::int64_t level = operator_time(s) + hi - 1;
      if (own_last && s == t1) {
        twin.levels[static_cast<std::size_t>(twin.buffer_of(level))] = buffer_ref(f, f.buffer_of(level)).data;
        continue;
      }
      const BufferRef &b = levels[static_cast<std::size_t>(s - t0 - 1)].at(i);
      TENET_INTERNAL_CHECK(b.bytes() == f.buffer_count() * f.element_size(),
                           "reverse_window: levels laid out unlike reverse_state_at");
      twin.levels[static_cast<std::size_t>(twin.buffer_of(level))] = b.data;
      zero_halo(b.data, f);
    }
  }
  const Clock::time_point start = Clock::now();
  run_by_reference(*by_reference_->forward, time0, operator_time(t1 - 1));
  seconds_forward = since(start);
  reached_ = std::max(reached_, t1);
  if (before_adjoint)
    for (int s = t1; s >= t0; --s) before_adjoint(operator_time(s));
  run_by_reference(*by_reference_->adjoint, time0, operator_time(t1));
  return true;
}


State OperatorCheckpointable::state() {
  State out;
  for (const auto &f : state_fields_)
    for (int b = 0; b < f->nbuf; ++b) out.push_back(buffer_ref(*f, b));
  return out;
}

State OperatorCheckpointable::state_at(int s) {
  State out;
  const auto offsets = forward_.time_offsets();
  const std::int64_t t = operator_time(s);
  for (const auto &f : state_fields_) {
    auto it = offsets.find(f->name());
    TENET_INTERNAL_CHECK(it != offsets.end(), "state field ", f->name(), " is not in the forward operator");
    // Levels read by the step: from the oldest read up to the one before the written level.
    for (std::int64_t k = it->second.first; k < it->second.second; ++k)
      out.push_back(buffer_ref(*f, f->buffer_of(t + k)));
  }
  return out;
}

State OperatorCheckpointable::reverse_state_at(int s) {
  if (tape_ || s == steps() - 1) return state_at(s);
  State out;
  const std::int64_t t = operator_time(s);
  for (const auto &f : state_fields_) {
    auto needs = adjoint_.forward_needs.find(f->name());
    if (needs == adjoint_.forward_needs.end()) continue;
    for (std::int64_t k : needs->second) out.push_back(buffer_ref(*f, f->buffer_of(t + k)));
  }
  return out;
}

std::size_t OperatorCheckpointable::state_bytes() const { return checkpoint_bytes(forward_, state_fields_); }

std::size_t checkpoint_bytes(const Operator &forward, const std::vector<std::shared_ptr<FieldData>> &state) {
  std::size_t total = 0;
  const auto offsets = forward.time_offsets();
  for (const auto &f : state) {
    auto it = offsets.find(f->name());
    const std::int64_t levels = it == offsets.end() ? f->nbuf : it->second.second - it->second.first;
    total += static_cast<std::size_t>(levels) * f->buffer_count() * f->element_size();
  }
  return total;
}

// ---- Strategies ----

const char *strategy_name(GradientStrategy s) {
  switch (s) {
    case GradientStrategy::FullHistory: return "full-history";
    case GradientStrategy::StoreAll: return "store-all";
    case GradientStrategy::Revolve: return "revolve";
    case GradientStrategy::TwoLevel: return "two-level";
    case GradientStrategy::Periodic: return "periodic";
  }
  return "?";
}

GradientStrategy parse_strategy(const std::string &name) {
  for (GradientStrategy s : {GradientStrategy::FullHistory, GradientStrategy::StoreAll, GradientStrategy::Revolve,
                             GradientStrategy::TwoLevel, GradientStrategy::Periodic})
    if (name == strategy_name(s)) return s;
  throw Error(internal::cat("unknown gradient strategy '", name,
                            "'; use full-history, store-all, revolve, two-level or periodic"));
}

GradientProblem gradient_problem(AcousticProblem &p) {
  GradientProblem g;
  g.equations = p.equations();
  g.state = {p.u().data()};
  g.parameter = p.m().data();
  g.receivers = p.rec().data();
  g.time_m = 1;
  g.time_M = p.nt() - 2;
  g.scalars["dt"] = p.dt();
  return g;
}

// ---- FwiGradient ----

struct FwiGradient::Impl {
  GradientProblem problem;
  GradientOptions options;
  std::vector<Eq> equations;                      // the ones compiled (history-saving for FullHistory)
  std::vector<std::shared_ptr<FieldData>> state;  // the state fields those equations advance
  std::vector<std::int64_t> initial_levels_lo, initial_levels_hi;  // per state field, saved levels to zero
  std::unique_ptr<Operator> forward;
  DerivativeOperator adjoint;
  std::unique_ptr<OperatorCheckpointable> adapter;
  std::unique_ptr<Schedule> schedule;
  ScheduleCost predicted;
  ApplyArgs args;
  std::set<std::int64_t> receiver_offsets;
  std::shared_ptr<FieldData> rec_bar, gradient;
  std::size_t one_state_bytes = 0;
  // Kept between compute() calls so that checkpoint buffers are reused instead of faulted in
  // afresh on every FWI iteration.
  std::unique_ptr<MemoryStorage> memory;

  int steps() const { return static_cast<int>(problem.time_M - problem.time_m + 1); }

  void check_problem() const {
    const GradientProblem &p = problem;
    TENET_USER_CHECK(!p.equations.empty(), "gradient: the problem has no forward equations");
    TENET_USER_CHECK(!p.state.empty(), "gradient: name the TimeFunction(s) the forward advances (problem.state)");
    TENET_USER_CHECK(p.parameter != nullptr, "gradient: no parameter to differentiate with respect to");
    TENET_USER_CHECK(p.receivers && p.receivers->kind == FieldKind::Sparse,
                     "gradient: the receivers must be a SparseTimeFunction the forward interpolates into");
    TENET_USER_CHECK(p.time_M >= p.time_m && p.time_m >= 0, "gradient: the time range [", p.time_m, ", ", p.time_M,
                     "] is empty or negative");
    TENET_USER_CHECK(p.time_M - p.time_m + 1 <= 1000000000, "gradient: too many time steps");
    for (const auto &f : p.state) {
      TENET_USER_CHECK(f && f->kind == FieldKind::TimeFunction, "gradient: state field '",
                       f ? f->name() : std::string("(null)"), "' is not a TimeFunction");
      TENET_USER_CHECK(f != p.parameter, "gradient: the parameter '", f->name(), "' is a state field the forward "
                       "advances; differentiate with respect to a field it reads (e.g. the squared slowness m)");
    }
    bool records = false;
    for (const Eq &e : p.equations) records |= e.kind == EqKind::Interpolate && e.sparse == p.receivers;
    TENET_USER_CHECK(records, "gradient: no equation interpolates into the receivers '", p.receivers->name(),
                     "'; the misfit compares what the forward records with the observed data");
  }

  void build_full_history() {
    // The levels the forward over [time_m, time_M] writes, up to the last: what a history holds.
    auto levels_of = [&](const FieldData &f) { return problem.time_M + offsets_of(problem.equations, &f).hi() + 1; };
    // A budget bounds the history too, checked before it is allocated.
    if (options.memory_bytes > 0) {
      double history = 0;
      for (const auto &f : problem.state) {
        const std::int64_t levels = f->saved ? f->nbuf : levels_of(*f);
        history += static_cast<double>(levels) * static_cast<double>(f->buffer_count() * f->element_size());
      }
      TENET_USER_CHECK(history <= static_cast<double>(options.memory_bytes), "gradient: the full history takes ",
                       history, " bytes, more than the memory_bytes budget of ", options.memory_bytes,
                       "; use GradientStrategy::Revolve (checkpoints within the budget) or a larger budget");
    }
    std::map<const FieldData *, std::shared_ptr<FieldData>> with;
    for (const auto &f : problem.state) {
      const Offsets o = offsets_of(problem.equations, f.get());
      const std::int64_t levels = levels_of(*f);
      std::shared_ptr<FieldData> saved = f;
      if (!f->saved) {
        saved = time_function_like(*f, levels, 0);
        with[f.get()] = saved;
      }
      TENET_USER_CHECK(saved->nbuf >= levels, "gradient: '", f->name(), "' saves ", saved->nbuf,
                       " time levels but the forward over [", problem.time_m, ", ", problem.time_M, "] writes up to level ",
                       levels - 1);
      state.push_back(saved);
      // The levels the first step reads are the initial condition (at rest).
      initial_levels_lo.push_back(std::max<std::int64_t>(0, problem.time_m + o.lo()));
      initial_levels_hi.push_back(problem.time_m + o.hi() - 1);
    }
    equations = with.empty() ? problem.equations : replace_fields(problem.equations, with);
  }

  void build_schedule() {
    const int n = steps();
    const GradientOptions &o = options;
    int s = o.snapshots;
    if (o.memory_bytes > 0) {
      const int fit = snapshots_for_budget(o.memory_bytes, one_state_bytes);
      TENET_USER_CHECK(fit >= 1 || o.strategy == GradientStrategy::TwoLevel, "gradient: the memory budget of ",
                       o.memory_bytes, " bytes holds no checkpoint; one state takes ", one_state_bytes, " bytes");
      TENET_USER_CHECK(s <= fit, "gradient: ", s, " snapshots of ", one_state_bytes, " bytes do not fit in the ",
                       o.memory_bytes, "-byte budget (at most ", fit, ")");
      if (s == 0) s = fit;
    }
    const int strategy = static_cast<int>(o.strategy);
    TENET_USER_CHECK(strategy >= static_cast<int>(GradientStrategy::FullHistory) &&
                         strategy <= static_cast<int>(GradientStrategy::Periodic),
                     "gradient: unknown strategy ", strategy);
    switch (o.strategy) {
      case GradientStrategy::FullHistory: return;
      case GradientStrategy::StoreAll:
        TENET_USER_CHECK(o.memory_bytes == 0 || static_cast<std::size_t>(n) * one_state_bytes <= o.memory_bytes,
                         "gradient: store-all needs ", n, " states of ", one_state_bytes, " bytes, more than the ",
                         o.memory_bytes, "-byte budget; use revolve");
        schedule = std::make_unique<Schedule>(store_all_schedule(n, n));
        break;
      case GradientStrategy::Revolve:
        TENET_USER_CHECK(s >= 1, "gradient: revolve needs at least one snapshot; give snapshots or a memory budget");
        schedule = std::make_unique<Schedule>(revolve_schedule(n, std::min(s, n)));
        break;
      case GradientStrategy::Periodic:
        TENET_USER_CHECK(s >= 1, "gradient: periodic checkpointing needs snapshots or a memory budget");
        schedule = std::make_unique<Schedule>(periodic_schedule(n, s, o.period));
        break;
      case GradientStrategy::TwoLevel:
        TENET_USER_CHECK(o.disk_storage != nullptr || !o.disk_directory.empty(),
                         "gradient: the two-level strategy needs a disk directory (disk_directory) or a disk storage");
        TENET_USER_CHECK(o.disk_snapshots >= 1, "gradient: the two-level strategy needs disk_snapshots >= 1");
        schedule = std::make_unique<Schedule>(two_level_schedule(n, s, o.disk_snapshots, o.write_cost, o.read_cost));
        break;
    }
    predicted = analyze_schedule(*schedule);
  }

  void seed(std::int64_t time, const std::vector<double> &observed, std::vector<double> &misfit_at) {
    const FieldData &rec = *problem.receivers;
    if (time < 0 || time >= rec.nt) return;
    // The residual seeds the adjoint in the receivers' type and is squared for the misfit in
    // double: values beyond `most` would give infinities, not an error.
    const double most = rec_bar->dtype == DType::Float32 ? std::numeric_limits<float>::max() : 1e150;
    double sum = 0;
    for (std::int64_t p = 0; p < rec.npoint; ++p) {
      const auto i = static_cast<std::size_t>(time * rec.npoint + p);
      const double recorded = sparse_value(rec, i);
      TENET_USER_CHECK(std::abs(recorded) <= most, "gradient: the forward recorded ", recorded, " at time ", time,
                       ", receiver ", p, ": the simulation blew up; check the model, the time step (below the "
                       "critical one) and the source");
      const double r = recorded - observed[i];
      TENET_USER_CHECK(std::abs(r) <= most, "gradient: the residual at time ", time, ", receiver ", p, " is ", r,
                       " (observed ", observed[i], ", recorded ", recorded, "), beyond what the ",
                       dtype_name(rec_bar->dtype), " adjoint and the squared misfit can hold; rescale the observed "
                       "data to the recorded data's units");
      set_sparse_value(*rec_bar, i, r);
      sum += r * r;
    }
    misfit_at[static_cast<std::size_t>(time)] = 0.5 * sum;
  }
};

FwiGradient::FwiGradient(GradientProblem problem, GradientOptions options) : impl_(std::make_unique<Impl>()) {
  Impl &m = *impl_;
  m.problem = std::move(problem);
  m.options = std::move(options);
  m.check_problem();
  const bool full = m.options.strategy == GradientStrategy::FullHistory;
  if (full) {
    m.build_full_history();
  } else {
    m.equations = m.problem.equations;
    m.state = m.problem.state;
  }
  for (const Eq &e : m.equations)
    if (e.kind == EqKind::Interpolate && e.sparse == m.problem.receivers)
      m.receiver_offsets.insert(time_offset(e.lhs, e.sparse->grid));
  OperatorOptions fo;
  fo.name = "gradient_forward";
  m.forward = std::make_unique<Operator>(m.equations, fo);
  DiffRequest req;
  req.parameters = {m.problem.parameter};
  // compute() starts the forward at rest and the adjoint at zero.
  req.at_rest = true;
  OperatorOptions ao;
  ao.name = "gradient_adjoint";
  m.adjoint = tenet::adjoint(m.equations, req, ao);
  m.rec_bar = m.adjoint.of(m.problem.receivers->name());
  m.gradient = m.adjoint.of(m.problem.parameter->name());
  // Each operator gets only the scalars it reads: one that none reads is a typo, not a no-op.
  std::set<std::string> read;
  for (const Operator *o : {m.forward.get(), m.adjoint.op.get(), m.adjoint.prepare.get()})
    if (o)
      for (const std::string &n : o->scalar_names()) read.insert(n);
  for (const auto &[name, v] : m.problem.scalars)
    TENET_USER_CHECK(read.count(name), "gradient: unknown scalar '", name, "': neither the forward nor its adjoint reads "
                     "it (they read: ", [&] {
                       std::string t;
                       for (const auto &n : read) t += (t.empty() ? "" : ", ") + n;
                       return t;
                     }(), ")");
  m.args.scalars = m.problem.scalars;
  m.args.threads = m.options.threads;
  m.args.autotune = worth_tuning(m.problem.parameter->grid);
  if (!full) {
    m.adapter = std::make_unique<OperatorCheckpointable>(*m.forward, m.adjoint, m.state, m.problem.time_m,
                                                         m.problem.time_M, m.args);
    m.one_state_bytes = m.adapter->state_bytes();
  } else {
    for (const auto &f : m.problem.state) {
      const std::size_t levels = f->saved ? static_cast<std::size_t>(f->time_order + 1) : static_cast<std::size_t>(f->nbuf);
      m.one_state_bytes += levels * f->buffer_count() * f->element_size();
    }
  }
  m.build_schedule();
}

FwiGradient::~FwiGradient() = default;

int FwiGradient::steps() const { return impl_->steps(); }
std::size_t FwiGradient::state_bytes() const { return impl_->one_state_bytes; }
const Schedule *FwiGradient::schedule() const { return impl_->schedule.get(); }
Operator &FwiGradient::forward_operator() { return *impl_->forward; }
DerivativeOperator &FwiGradient::adjoint_operator() { return impl_->adjoint; }

GradientResult FwiGradient::compute(std::span<const double> observed_span) {
  Impl &m = *impl_;
  const Clock::time_point start = Clock::now();
  const FieldData &rec = *m.problem.receivers;
  TENET_USER_CHECK(observed_span.size() == static_cast<std::size_t>(rec.nt * rec.npoint), "gradient: the observed data has ",
                   observed_span.size(), " values but the receivers '", rec.name(), "' record nt x npoint = ", rec.nt,
                   " x ", rec.npoint, " = ", rec.nt * rec.npoint, "; pass d as [nt][npoint] in C order");
  for (std::size_t i = 0; i < observed_span.size(); ++i)
    TENET_USER_CHECK(std::isfinite(observed_span[i]), "gradient: observed value ", i, " (time ",
                     static_cast<std::int64_t>(i) / rec.npoint, ", receiver ", static_cast<std::int64_t>(i) % rec.npoint,
                     ") is not finite");
  const std::vector<double> observed(observed_span.begin(), observed_span.end());

  // At rest; adjoint fields and gradient cleared.
  for (std::size_t i = 0; i < m.state.size(); ++i) {
    FieldData &f = *m.state[i];
    if (!f.saved) zero(f);
    else
      for (std::int64_t b = m.initial_levels_lo[i]; b <= m.initial_levels_hi[i]; ++b) zero_buffer(f, b);
  }
  for (const auto &[name, f] : m.adjoint.fields) zero(*f);

  GradientResult r;
  r.schedule = m.schedule ? m.schedule->name : strategy_name(GradientStrategy::FullHistory);
  r.state_bytes = m.one_state_bytes;
  std::vector<double> misfit_at(static_cast<std::size_t>(rec.nt), 0.0);
  const int n = m.steps();

  if (!m.schedule) {
    ApplyArgs a = m.args;
    a.time_m = m.problem.time_m;
    a.time_M = m.problem.time_M;
    const Clock::time_point sweep_start = Clock::now();
    Clock::time_point t0 = sweep_start;
    m.forward->apply(args_for(*m.forward, a));
    r.seconds_forward = since(t0);
    for (std::int64_t t = m.problem.time_m; t <= m.problem.time_M; ++t)
      for (std::int64_t k : m.receiver_offsets) m.seed(t + k, observed, misfit_at);
    t0 = Clock::now();
    m.adjoint.run_prepare(a);
    m.adjoint.op->apply(args_for(*m.adjoint.op, a));
    r.seconds_adjoint = since(t0);
    ExecutionStats &s = r.stats;
    s.steps = n;
    s.forward_steps = n;
    s.reverse_steps = n;
    s.seconds_forward = r.seconds_forward;
    s.seconds_reverse = r.seconds_adjoint;
    s.peak_bytes_memory = 0;
    for (const auto &f : m.state) s.peak_bytes_memory += f->count() * f->element_size();
    r.predicted.advanced_steps = n;
    r.predicted.reverse_steps = n;
    r.predicted.forward_evaluations = n;
    r.predicted.weighted_cost = n;
    s.seconds_total = since(sweep_start);
  } else {
    const GradientOptions &o = m.options;
    std::unique_ptr<DiskStorage> own_disk;
    CheckpointStorage *memory = o.memory_storage;
    if (!memory) {
      if (!m.memory) m.memory = std::make_unique<MemoryStorage>(o.memory_bytes);
      memory = m.memory.get();
    }
    CheckpointStorage *disk = o.disk_storage;
    if (!disk && m.schedule->slots[kDiskLevel] > 0) {
      own_disk = std::make_unique<DiskStorage>(o.disk_directory);
      disk = own_disk.get();
    }
    m.adapter->invalidate_prepare();
    m.adapter->before_adjoint = [&](std::int64_t t) {
      for (std::int64_t k : m.receiver_offsets) m.seed(t + k, observed, misfit_at);
    };
    const std::int64_t taped_before = m.adapter->taped_steps();
    try {
      r.stats = execute_schedule(*m.schedule, *m.adapter, *memory, disk, o.checkpoints_by_reference);
    } catch (...) {
      m.adapter->before_adjoint = nullptr;
      throw;
    }
    m.adapter->before_adjoint = nullptr;
    r.taped_steps = m.adapter->taped_steps() - taped_before;
    r.predicted = m.predicted;
    // The schedule's cost model counts a forward step in every reverse step; this adjoint may
    // need only the state it reverses from.
    r.predicted.forward_evaluations = r.predicted.advanced_steps + taped_steps(*m.schedule, m.adapter->tapes());
    r.snapshots = m.schedule->slots[kMemoryLevel];
    r.disk_snapshots = m.schedule->slots[kDiskLevel];
    r.seconds_forward = r.stats.seconds_forward;
    r.seconds_adjoint = r.stats.seconds_reverse;
  }
  // Summed in time order, so every strategy gives the same rounding.
  for (double v : misfit_at) r.misfit += v;
  r.gradient_field = m.gradient;
  if (m.options.copy_gradient) r.gradient = Function::from_data(m.gradient).get_data();
  r.seconds_total = since(start);
  return r;
}

GradientResult compute_gradient(const GradientProblem &problem, std::span<const double> observed,
                                const GradientOptions &options) {
  FwiGradient g(problem, options);
  return g.compute(observed);
}

GradientResult compute_gradient(AcousticProblem &problem, std::span<const double> observed,
                                const GradientOptions &options) {
  return compute_gradient(gradient_problem(problem), observed, options);
}

}  // namespace tenet
