#include "ad/Differentiate.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <set>

#include "fd/Derivatives.h"
#include "support/Error.h"
#include "symbolic/Transform.h"

namespace tenet {

std::shared_ptr<FieldData> DerivativeOperator::of(const std::string &name) const {
  auto it = fields.find(name);
  TENET_USER_CHECK(it != fields.end(), "no derivative field for '", name, "': the operator differentiates ", [&] {
    std::string s;
    for (const auto &[n, f] : fields) s += (s.empty() ? "" : ", ") + n;
    return s;
  }());
  return it->second;
}

namespace {

// The field of that name among those `op` reads (null for none or a null `op`).
const FieldData *field_named(const Operator *op, const std::string &name) {
  if (op)
    for (const auto &f : op->kernel().fields)
      if (f->name() == name) return f.get();
  return nullptr;
}

// The arguments with only the scalars `op` reads: the operators of one derivative share the
// caller's arguments, but each rejects names it does not know.
ApplyArgs for_operator(const Operator &op, const ApplyArgs &args) {
  ApplyArgs a = args;
  a.scalars.clear();
  for (const std::string &n : op.scalar_names()) {
    auto it = args.scalars.find(n);
    if (it != args.scalars.end()) a.scalars[n] = it->second;
  }
  return a;
}

}  // namespace

void DerivativeOperator::run_prepare(const ApplyArgs &args) {
  if (!prepare) return;
  ApplyArgs p = for_operator(*prepare, args);
  // The overrides of the fields it reads (a parameter given for another run): without them
  // its coefficients would come from the original fields while `op` reads the override.
  p.fields.clear();
  for (const auto &[name, f] : args.fields)
    if (field_named(prepare.get(), name)) p.fields[name] = f;
  p.autotune = false;
  prepare->apply(p);
}

PerfReport DerivativeOperator::apply(const ApplyArgs &args) {
  for (const auto &[name, v] : args.scalars) {
    auto in = [&](const Operator *o) {
      if (!o) return false;
      auto names = o->scalar_names();
      return std::find(names.begin(), names.end(), name) != names.end();
    };
    TENET_USER_CHECK(in(op.get()) || in(prepare.get()), "unknown argument '", name,
                     "': this derivative operator takes no scalar of that name");
  }
  // A forward field read at every reversed step must hold every step's levels: one that cycles
  // through a few buffers holds only the last ones (the checkpointing runtime, which restores
  // them, runs one step per call).
  if (args.time_M > args.time_m) {
    std::set<std::string> written;
    for (const Eq &e : equations)
      if (const FieldData *f = field_of(e.lhs)) written.insert(f->name());
    for (const auto &[name, offsets] : forward_needs) {
      if (offsets.empty() || written.count(name)) continue;
      auto given = args.fields.find(name);
      const FieldData *f = given != args.fields.end() ? given->second.get() : field_named(op.get(), name);
      TENET_USER_CHECK(!f || f->kind != FieldKind::TimeFunction || f->saved, "the derivative operator reads the forward "
                       "field '", name, "' at every step it runs, but '", name, "' cycles through ", f ? f->nbuf : 0,
                       " time buffers that hold only the forward's last levels: over steps ", args.time_m, " to ",
                       args.time_M, " the result would be wrong. Create it with save = nt (its whole history), run one "
                       "step per call from restored states, or use FwiGradient / compute_gradient, which checkpoint");
    }
  }
  run_prepare(args);
  ApplyArgs a = for_operator(*op, args);
  std::erase_if(a.fields, [&](const auto &given) {  // overrides only `prepare` reads
    return !field_named(op.get(), given.first) && field_named(prepare.get(), given.first);
  });
  return op->apply(a);
}

namespace {

bool is_grid(const FieldData *f) { return f && f->on_grid(); }

std::shared_ptr<FieldData> make_like(const FieldData &f, const std::string &name, int halo) {
  switch (f.kind) {
    case FieldKind::Function: {
      FunctionOptions o = FunctionOptions::with_dtype(f.dtype);
      o.halo = halo;
      return Function(name, f.grid, f.space_order, o).data();
    }
    case FieldKind::TimeFunction: {
      TimeFunctionOptions o;
      o.dtype = f.dtype;
      o.dtype_set = true;
      o.halo = halo;
      o.time_order = f.time_order;
      return TimeFunction(name, f.grid, f.space_order, o).data();
    }
    case FieldKind::Sparse: {
      SparseTimeFunction s(name, f.grid, f.npoint, f.nt, f.dtype);
      s.set_coordinates(f.coordinates);
      s.data()->point_dim = f.point_dim;  // one point index for a function and its derivative
      return s.data();
    }
    case FieldKind::Table: break;
  }
  throw InternalError("make_like of a table");
}

// A gradient increment that is a sum of terms all proportional to one forward access (the
// imaging condition u[t] * (2 z[t+1] - z[t+2] - z[t]) / dt^2 of the acoustic FWI gradient) as
// that access times the sum of the rest: one multiplication by it instead of one per term.
// Unchanged when no access of `forward` fields factors out.
Expr factor_forward_access(const Expr &g, const std::function<bool(const FieldData *)> &forward) {
  if (g.kind() != NodeKind::Add) return g;
  for (const Expr &r : accesses(g)) {
    if (!forward(field_of(r))) continue;
    const Expr a = diff(g, r);
    if (!a.is_zero() && !contains(a, r) && substitute(g, ExprMap{{r, Expr(0)}}).is_zero()) return r * a;
  }
  return g;
}

class Differentiator {
 public:
  Differentiator(const std::vector<Eq> &fwd, const DiffRequest &req, const char *suffix) : fwd_(fwd) {
    TENET_USER_CHECK(!fwd.empty(), "cannot differentiate an empty list of equations");
    // Active: every written field, every sparse function, and the requested parameters.
    int halo = 0;
    for (const Eq &e : fwd)
      for (const Expr &x : {e.lhs, e.rhs, e.residual}) {
        if (!x.defined()) continue;
        for (const Expr &a : accesses(x)) {
          auto f = field_ptr_of(a);
          if (!f || f->kind == FieldKind::Table) continue;
          if (!grid_) grid_ = &f->grid;
          if (is_grid(f.get())) halo = std::max(halo, *std::max_element(f->halo.begin(), f->halo.end()));
          if (f->kind == FieldKind::Sparse) active_.emplace(f.get(), f);
          read_.insert(f->name());
          read_fields_.insert(f.get());
        }
      }
    for (const Eq &e : fwd) {
      auto w = field_ptr_of(e.lhs);
      TENET_USER_CHECK(w != nullptr, "cannot differentiate `", e.str(), "`: its left-hand side is not a field");
      active_.emplace(w.get(), w);
      written_.insert(w.get());
      if (e.sparse) active_.emplace(e.sparse.get(), e.sparse);
    }
    for (const auto &p : req.parameters) {
      TENET_USER_CHECK(p != nullptr, "a parameter to differentiate with respect to is null");
      TENET_USER_CHECK(read_.count(p->name()), "cannot differentiate with respect to '", p->name(),
                       "': the operator does not read it (it reads ", list(read_), ")");
      TENET_USER_CHECK(read_fields_.count(p.get()) || written_.count(p.get()), "cannot differentiate with respect to '",
                       p->name(), "': the operator reads a field of that name, but not this one (another field named '",
                       p->name(), "'); pass the field the equations use");
      TENET_USER_CHECK(!written_.count(p.get()), "'", p->name(), "' is written by the operator, so it is state, "
                       "not a parameter; differentiate with respect to what it is computed from");
      TENET_USER_CHECK(is_grid(p.get()), "parameter '", p->name(), "' must be a Function or TimeFunction");
      active_.emplace(p.get(), p);
      params_.insert(p.get());
    }
    for (const auto &[raw, f] : active_) d_[raw] = make_like(*f, f->name() + suffix, halo);
    halo_ = halo;
    at_rest_ = req.at_rest;
    t_ = grid_->time_dim();
  }

  DerivativeOperator finish(std::vector<Eq> eqs, OperatorOptions opts) {
    DerivativeOperator out;
    for (const auto &[raw, f] : active_) out.fields[f->name()] = d_.at(raw);
    std::set<const FieldData *> derived;
    for (const auto &[raw, f] : d_) derived.insert(f.get());
    for (const Eq &e : eqs)
      for (const Expr &x : {e.lhs, e.rhs})
        for (const Expr &a : accesses(x)) {
          const FieldData *f = field_of(a);
          if (!f || f->kind == FieldKind::Table || derived.count(f)) continue;
          auto &needs = out.forward_needs[f->name()];
          if (f->has_time()) needs.insert(time_offset(a));
        }
    if (!prepare_.empty()) {
      OperatorOptions po;
      po.name = opts.name + "_prepare";
      po.passes = opts.passes;
      out.prepare = std::make_unique<Operator>(prepare_, po);
    }
    out.op = std::make_unique<Operator>(eqs, std::move(opts));
    out.equations = std::move(eqs);
    return out;
  }

  DerivativeOperator adjoint(OperatorOptions opts, bool time_gather) {
    opts.backward = !opts.backward;
    if (opts.name == "Kernel") opts.name = "adjoint";
    if (time_gather) {
      if (const Eq *solved = time_gather_candidate()) return finish(adjoint_time_gather(*solved), std::move(opts));
    }
    // The oldest level of each state field touched by a step: fresh at that step's reverse.
    std::map<const FieldData *, std::int64_t> oldest;
    for (const Eq &e : fwd_)
      for (const Expr &x : {e.lhs, e.rhs, e.residual}) {
        if (!x.defined()) continue;
        for (const Expr &a : accesses(x)) {
          const FieldData *f = field_of(a);
          if (!f || f->kind != FieldKind::TimeFunction || !written_.count(f)) continue;
          std::int64_t k = time_offset(a);
          auto it = oldest.find(f);
          if (it == oldest.end()) oldest[f] = k;
          else it->second = std::min(it->second, k);
        }
      }
    for (const auto &[f, k] : oldest) fresh_.insert({d_.at(f).get(), k});

    std::vector<Eq> out;
    for (auto it = fwd_.rbegin(); it != fwd_.rend(); ++it) {
      const Eq &e = *it;
      switch (e.kind) {
        case EqKind::Assign:
        case EqKind::Increment: transpose_dense(e, out); break;
        case EqKind::Inject: transpose_inject(e, out); break;
        case EqKind::Interpolate: transpose_interpolate(e, out); break;
      }
    }
    // A fresh level with no contribution this step must still be cleared.
    for (const auto &[f, k] : fresh_) {
      auto fd = std::find_if(d_.begin(), d_.end(), [&](const auto &p) { return p.second.get() == f; })->second;
      out.emplace_back(TimeFunction::from_data(fd).at_time(t_ + Expr(k)), Expr(0), "no contribution this step");
    }
    return finish(std::move(out), std::move(opts));
  }

  // The single solved update the time-gather form applies to, or null (see Differentiate.h).
  const Eq *time_gather_candidate() const {
    const Eq *solved = nullptr;
    for (const Eq &e : fwd_) {
      if (e.kind == EqKind::Assign || e.kind == EqKind::Increment) {
        if (solved || e.kind != EqKind::Assign || !e.residual.defined()) return nullptr;
        solved = &e;
      }
    }
    if (!solved) return nullptr;
    const FieldData *w = field_of(solved->lhs);
    if (w->kind != FieldKind::TimeFunction || time_offset(solved->lhs) != 1) return nullptr;
    const Expr a = diff(solved->residual, solved->lhs);
    for (const Expr &x : accesses(a))
      if (!field_of(x) || field_of(x)->kind != FieldKind::Function) return nullptr;
    if (contains(a, solved->lhs)) return nullptr;
    for (const Expr &r : accesses(solved->residual)) {
      const FieldData *f = field_of(r);
      if (f != w || r == solved->lhs) continue;
      if (time_offset(r) > 0) return nullptr;
      for (const Expr &x : accesses(diff(solved->residual, r)))
        if (field_of(x) == w) return nullptr;  // not linear in the state
    }
    for (const Eq &e : fwd_) {
      if (&e == solved) continue;
      if (e.kind == EqKind::Inject && e.lhs != solved->lhs) return nullptr;
      if (e.kind == EqKind::Inject)
        for (const Expr &r : accesses(e.rhs))
          if (field_of(r) == w) return nullptr;
      if (e.kind == EqKind::Interpolate)
        for (const Expr &r : accesses(e.rhs))
          if (field_of(r) == w && (time_offset(r) != 0 || space_offsets(r, e.str()) != std::vector<std::int64_t>(
                                                                                           static_cast<std::size_t>(grid_->ndim()), 0)))
            return nullptr;
    }
    return solved;
  }

  // `e` with every time index moved by k.
  Expr shift_time(const Expr &e, std::int64_t k) const { return k == 0 ? e : shift(e, t_, static_cast<int>(k)); }

  using ParameterTerms = std::vector<std::pair<Expr, std::vector<Expr>>>;  // target, terms

  // Parameters read by the residual: pbar += -dR/dp * z[t+1] (gathered in space).
  ParameterTerms parameter_terms(const Eq &e, const Expr &z1) const {
    ParameterTerms groups;
    for (const Expr &r : accesses(e.residual)) {
      const FieldData *f = field_of(r);
      if (!f || !params_.count(f)) continue;
      Expr target = dot_plain(r);
      Expr term = shift_space(-diff(e.residual, r) * z1, space_offsets(r, e.str()), -1);
      auto g = std::find_if(groups.begin(), groups.end(), [&](const auto &p) { return p.first == target; });
      bool dup = false;
      if (g != groups.end())
        for (const Expr &t : g->second) dup |= t == term;
      if (dup) continue;
      if (g == groups.end()) groups.push_back({target, {term}});
      else g->second.push_back(term);
    }
    return groups;
  }

  // Sums the parameter terms by parts in time (see DiffRequest::at_rest): every term
  // c * z[t+1] * w[t+k] (expanded, c free of time) becomes c * z[t+1+K-k] * w[t+K], K the
  // largest k. Returns the levels of z that reads (t .. t+1+K-kmin), or 0, leaving the terms
  // as they are, when a term does not have that form or there is nothing to gain. With
  // `apply` false it only answers.
  //
  // `fresh`: one step earlier instead, c * z[t+K-k] * w[t+K-1], so that the step reads the
  // level z[t] it has just computed (at the point it computed it) and no level beyond those
  // its stencil reads: the sum over the steps differs from the other form only by the terms
  // of the first and last reverse steps, products with zero levels again (the adjoint's
  // initial levels, and w[time_m+K-1], one of the levels the forward's first step reads).
  // Needs every z access at space offset zero (else 0); z then keeps t .. t+K-kmin, and the
  // caller must add what sparse injections into z[t] after the stencil contribute.
  std::int64_t sum_by_parts(ParameterTerms &groups, const FieldData *w, const FieldData *z, bool apply,
                            bool fresh) const {
    struct Mono {
      Expr e;
      std::int64_t k;
    };
    std::vector<std::vector<Mono>> monos;
    std::int64_t K = std::numeric_limits<std::int64_t>::min(), kmin = std::numeric_limits<std::int64_t>::max();
    for (auto &[target, ts] : groups) {
      std::vector<Mono> ms;
      for (const Expr &t : ts) {
        Expr x = expand(t);
        for (const Expr &m : x.kind() == NodeKind::Add ? x.ops() : std::vector<Expr>{x}) {
          int state = 0, adj = 0, other_time = 0;
          std::int64_t k = 0;
          for (const Expr &a : accesses(m)) {
            const FieldData *f = field_of(a);
            if (f == w) {
              ++state;
              k = time_offset(a);
            } else if (f == z) {
              ++adj;
              if (time_offset(a) != 1) return 0;
              if (fresh && space_offsets(a, m.str()) != std::vector<std::int64_t>(static_cast<std::size_t>(grid_->ndim()), 0))
                return 0;
            } else if (f->has_time()) {
              ++other_time;
            }
          }
          // exactly one state and one adjoint access, each to the first power
          if (state != 1 || adj != 1 || other_time != 0 || !linear_in_accesses(m)) return 0;
          ms.push_back({m, k});
          K = std::max(K, k);
          kmin = std::min(kmin, k);
        }
      }
      monos.push_back(std::move(ms));
    }
    if (monos.empty() || K == kmin) return 0;
    if (apply)
      for (std::size_t g = 0; g < groups.size(); ++g) {
        std::vector<Expr> shifted;
        for (const Mono &m : monos[g]) shifted.push_back(shift_time(m.e, (fresh ? K - 1 : K) - m.k));
        groups[g].second = {add(std::move(shifted))};
      }
    return (fresh ? 1 : 2) + K - kmin;
  }

  // True when every access in the monomial m is a factor of power one.
  static bool linear_in_accesses(const Expr &m) {
    if (m.kind() == NodeKind::Access) return true;
    if (m.kind() != NodeKind::Mul) return m.is_number() || m.is_symbol() || accesses(m).empty();
    int seen = 0;
    for (const Expr &f : m.ops()) {
      if (f.kind() == NodeKind::Access) ++seen;
      else if (!accesses(f).empty()) return false;
    }
    return seen == static_cast<int>(accesses(m).size());
  }

  std::vector<Eq> adjoint_time_gather(const Eq &e) {
    const FieldData *w = field_of(e.lhs);
    bool fresh = false;  // the by-parts form reading the level z[t] this step computes
    // z again, with `buffers` modulo buffers.
    auto rebuffer = [&](int buffers) { d_[w] = time_function_like(*d_.at(w), 0, buffers); };
    std::int64_t levels = 0;
    if (at_rest_) {
      // Give z the levels the parameter terms summed by parts read, before anything reads z.
      const FieldData &zd = *d_.at(w);
      ParameterTerms probe = parameter_terms(e, TimeFunction::from_data(d_.at(w)).at_time(t_ + Expr(1)));
      levels = sum_by_parts(probe, w, &zd, false, true);
      fresh = levels > 0;
      if (!fresh) levels = sum_by_parts(probe, w, &zd, false, false);
      if (levels > zd.nbuf) rebuffer(static_cast<int>(levels));
    }
    // z in place (buffers = the levels the update reads, z[t] overwriting the oldest of them):
    // exact when the update reads that level, z[t + 1 - oldest], only at the point it writes (the
    // forward reads its oldest level only where it writes), and the gradient reads it there too,
    // before the update (summed by parts against the level computed, that level's value is
    // substituted). The overwritten line is then in cache: no write-allocate, a fifth less memory
    // traffic per step.
    std::int64_t oldest = 0;
    for (const Expr &r : accesses(e.residual))
      if (field_of(r) == w && r != e.lhs) oldest = std::min(oldest, time_offset(r));
    bool in_place = levels == 0 || fresh;
    for (const Expr &r : accesses(e.residual))
      if (field_of(r) == w && r != e.lhs && time_offset(r) == oldest)
        for (std::int64_t o : space_offsets(r, e.str())) in_place &= o == 0;
    const int read_levels = static_cast<int>(1 - oldest);  // z[t+1] .. z[t+1-oldest]
    if (in_place && d_.at(w)->nbuf != read_levels) rebuffer(read_levels);
    const TimeFunction z = TimeFunction::from_data(d_.at(w));
    const Expr a = diff(e.residual, e.lhs);
    const Expr inv_a = Expr(1) / a;
    const Expr z1 = z.at_time(t_ + Expr(1));  // completed level t+1, scaled
    const std::string note = "adjoint of " + (e.note.empty() ? e.lhs.str() : e.note);
    std::vector<Eq> out;
    // Level t, gathered over space (y = x + k) and time (from step t - j for a read at t + j).
    std::vector<Expr> terms, seen;
    for (const Expr &r : accesses(e.residual)) {
      if (field_of(r) != w || r == e.lhs || std::find(seen.begin(), seen.end(), r) != seen.end()) continue;
      seen.push_back(r);
      Expr term = shift_space(-diff(e.residual, r) * z1, space_offsets(r, e.str()), -1);
      terms.push_back(shift_time(term, -time_offset(r)));
    }
    const Expr zt = inv_a * add(std::move(terms));
    Eq update(z.at_time(t_), zt,
              note + " (time-gather form; the adjoint holds " + w->name() + "_bar / (dR/d" + e.lhs.str() + ")" +
                  (in_place ? ", levels in place" : "") + ")");
    ParameterTerms groups = parameter_terms(e, z1);
    const bool by_parts = at_rest_ && sum_by_parts(groups, w, z.data().get(), true, fresh) > 0;
    // In place, the gradient summed against the level computed goes first, with that level's value.
    const bool first = in_place && by_parts && fresh;
    if (!first) out.push_back(update);
    for (auto &[target, ts] : groups)
      out.push_back(Inc(target,
                        factor_forward_access(first ? substitute(add(ts), ExprMap{{z.at_time(t_), zt}}) : add(ts),
                                              [&](const FieldData *f) { return is_grid(f) && !is_adjoint(f); }),
                        note + (by_parts ? fresh ? " (summed by parts in time: one forward level per step, and the "
                                                   "level of z this step computes)"
                                                 : " (summed by parts in time: one forward level per step)"
                                         : "")));
    if (first) out.push_back(update);
    // Injections into w[t+1] after the solve: the exact-gradient correction, and the adjoints
    // of what they inject (sources, parameters), reading wbar[t+1] = a * z[t+1].
    for (const Correction &c : injection_corrections(e)) {
      Eq s = SparseTimeFunction::from_data(c.injection->sparse).inject(dot_plain(c.read), c.d2 * z1 * c.injection->rhs);
      s.note = note + ": correction for the injection after the solve";
      out.push_back(s);
    }
    const Expr wbar1 = shift_time(a, 1) * z1;
    for (const Eq &f : fwd_)
      if (&f != &e && f.kind == EqKind::Inject) transpose_inject(f, wbar1, out);
    // Receivers reading w[t] seed level t, scaled like it; other fields they read get their own
    // adjoint.
    for (const Eq &f : fwd_) {
      if (f.kind != EqKind::Interpolate) continue;
      const Expr rbar = dot(f.lhs);
      for (const Expr &r : active_accesses(f.rhs)) {
        const FieldData *g = field_of(r);
        TENET_USER_CHECK(g->kind != FieldKind::Sparse, "cannot transpose `", f.str(), "`: it interpolates sparse data");
        Expr c = diff(f.rhs, r) * rbar;
        if (g == w) c = c * inv_a;
        Eq s = SparseTimeFunction::from_data(f.sparse).inject(dot(r), c);
        s.note = "adjoint of " + (f.note.empty() ? "interpolation" : f.note);
        out.push_back(s);
        // The by-parts sums read z[t] before this seeds it: add the seed's share.
        if (g == w && by_parts && fresh)
          for (const auto &[target, ts] : groups) {
            const Expr share = diff(add(ts), z.at_time(t_));
            if (share.is_zero()) continue;
            Eq gs = SparseTimeFunction::from_data(f.sparse).inject(target, c * share);
            gs.note = note + ": the share of the seed of " + z.name() + "[t] in the gradient summed by parts";
            out.push_back(gs);
          }
      }
    }
    return out;
  }

  DerivativeOperator tangent(OperatorOptions opts, bool with_forward) {
    std::vector<Eq> out;
    if (with_forward) out = fwd_;
    for (const Eq &e : fwd_) {
      switch (e.kind) {
        case EqKind::Assign:
        case EqKind::Increment: {
          std::vector<Expr> terms;
          for (const Expr &r : active_reads(e)) terms.push_back(coefficient(e, r) * dot(r));
          Eq t(dot(e.lhs), add(std::move(terms)), "tangent of " + (e.note.empty() ? e.lhs.str() : e.note));
          t.kind = e.kind;
          out.push_back(t);
          for (const Correction &c : injection_corrections(e)) {
            Expr a = diff(e.residual, e.lhs);
            Eq s = SparseTimeFunction::from_data(c.injection->sparse)
                       .inject(dot(e.lhs), c.d2 / a * dot(c.read) * c.injection->rhs);
            s.note = t.note + ": correction for the injection after the solve";
            out.push_back(s);
          }
          break;
        }
        case EqKind::Inject: {
          std::vector<Expr> terms;
          for (const Expr &r : active_accesses(e.rhs)) terms.push_back(diff(e.rhs, r) * dot(r));
          if (terms.empty()) break;
          Eq t = SparseTimeFunction::from_data(e.sparse).inject(dot(e.lhs), add(std::move(terms)));
          t.note = "tangent of " + (e.note.empty() ? "injection" : e.note);
          out.push_back(t);
          break;
        }
        case EqKind::Interpolate: {
          std::vector<Expr> terms;
          for (const Expr &r : active_accesses(e.rhs)) terms.push_back(diff(e.rhs, r) * dot(r));
          Eq t = SparseTimeFunction::from_data(d_.at(e.sparse.get())).interpolate(add(std::move(terms)));
          t.accumulate = e.accumulate;
          t.note = "tangent of " + (e.note.empty() ? "interpolation" : e.note);
          out.push_back(t);
          break;
        }
      }
    }
    if (opts.name == "Kernel") opts.name = "tangent";
    return finish(std::move(out), std::move(opts));
  }

 private:
  static std::string list(const std::set<std::string> &s) {
    std::string out;
    for (const auto &n : s) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  std::int64_t time_offset(const Expr &a) const {
    Expr off = a.ops()[0] - t_;
    TENET_USER_CHECK(off.is_exact() && off.rational().is_integer(), "cannot differentiate: the time index of ",
                     a.str(), " is not t plus a constant");
    return off.rational().num;
  }

  std::vector<std::int64_t> space_offsets(const Expr &a, const std::string &where) const {
    const FieldData *f = field_of(a);
    std::vector<std::int64_t> k;
    for (int i = 0; i < grid_->ndim(); ++i) {
      Expr off = a.ops()[f->first_space() + static_cast<std::size_t>(i)] - grid_->dim(i);
      TENET_USER_CHECK(off.is_exact() && off.rational().is_integer(), "cannot transpose `", where, "`: index ",
                       a.str(), " is not its dimension plus an integer");
      k.push_back(off.rational().num);
    }
    return k;
  }

  Expr shift_space(Expr e, const std::vector<std::int64_t> &k, int sign) const {
    for (int i = 0; i < grid_->ndim(); ++i) e = shift(e, grid_->dim(i), sign * static_cast<int>(k[static_cast<std::size_t>(i)]));
    return e;
  }

  // The derivative field's access with the same indices.
  Expr dot(const Expr &a) const { return access(d_.at(field_of(a)), a.ops()); }
  // The derivative field's access at the point of evaluation (offsets removed).
  Expr dot_plain(const Expr &a) const {
    const FieldData *f = field_of(a);
    std::vector<Expr> idx = a.ops();
    for (int i = 0; i < grid_->ndim(); ++i) idx[f->first_space() + static_cast<std::size_t>(i)] = grid_->dim(i);
    return access(d_.at(f), std::move(idx));
  }

  std::vector<Expr> active_accesses(const Expr &x) const {
    std::vector<Expr> out;
    for (const Expr &a : accesses(x)) {
      const FieldData *f = field_of(a);
      if (f && active_.count(f)) out.push_back(a);
    }
    return out;
  }

  // Reads that carry derivatives: through the residual when there is one.
  std::vector<Expr> active_reads(const Eq &e) const {
    std::vector<Expr> out;
    for (const Expr &a : active_accesses(e.residual.defined() ? e.residual : e.rhs))
      if (a != e.lhs || !e.residual.defined()) out.push_back(a);
    return out;
  }

  // dF/dr, by the implicit function theorem when the update solves a residual.
  Expr coefficient(const Eq &e, const Expr &r) const {
    if (!e.residual.defined()) return diff(e.rhs, r);
    Expr a = diff(e.residual, e.lhs);
    TENET_USER_CHECK(!contains(a, e.lhs), "cannot differentiate `", e.str(), "`: its residual is not linear in ",
                     e.lhs.str());
    return -diff(e.residual, r) / a;
  }

  // Reverse mode: every coefficient of a solved update shares the factor 1/a(x), a = dR/dw.
  // When a depends only on fields without time, 1/a becomes a field computed once (by the
  // `prepare` operator) on the domain, with a zero halo. The gather then reads it at x - k:
  // no division per neighbour, and no evaluation of a in the halo, where fields are zero.
  Expr reciprocal(const Eq &e) {
    Expr a = diff(e.residual, e.lhs);
    TENET_USER_CHECK(!contains(a, e.lhs), "cannot differentiate `", e.str(), "`: its residual is not linear in ",
                     e.lhs.str());
    bool invariant = !a.is_number() && !a.is_symbol();
    for (const Expr &x : accesses(a)) {
      const FieldData *f = field_of(x);
      invariant &= f && f->kind == FieldKind::Function;
    }
    if (!invariant) return Expr(1) / a;
    auto it = reciprocals_.find(a);
    if (it == reciprocals_.end()) {
      const FieldData *w = field_of(e.lhs);
      FunctionOptions o = FunctionOptions::with_dtype(w->dtype);
      o.halo = halo_;
      Function inv("inv_" + w->name() + (reciprocals_.empty() ? "" : std::to_string(reciprocals_.size())), *grid_,
                   w->space_order, o);
      prepare_.emplace_back(inv(), Expr(1) / a, "1/(dR/d" + e.lhs.str() + ")");
      it = reciprocals_.emplace(a, inv()).first;
    }
    return it->second;
  }

  Expr reverse_coefficient(const Eq &e, const Expr &r) {
    if (!e.residual.defined()) return coefficient(e, r);
    return -diff(e.residual, r) * reciprocal(e);
  }

  // The implicit-function derivative -(dR/dp)/a reads the stored target, but injections that
  // follow the solve in the same step have changed it: target_stored = F + inj. As R is linear
  // in the target, the exact coefficient is the stored one plus (d2R/dp dtarget) * inj / a,
  // a correction that lives only at the injection points. Returns, for each later injection
  // into the target and each read with such a term, (read, d2R/dp dtarget, injection).
  struct Correction {
    Expr read, d2;
    const Eq *injection;
  };
  std::vector<Correction> injection_corrections(const Eq &e) const {
    std::vector<Correction> out;
    if (!e.residual.defined()) return out;
    auto at = std::find_if(fwd_.begin(), fwd_.end(), [&](const Eq &x) { return &x == &e; });
    for (auto it = at == fwd_.end() ? at : at + 1; it != fwd_.end(); ++it) {
      if (it->lhs != e.lhs) continue;
      TENET_USER_CHECK(it->kind == EqKind::Inject, "cannot differentiate `", e.str(), "`: ", e.lhs.str(),
                       " is modified again by `", it->str(), "` in the same step; only injections may follow a "
                       "solved update of the same level");
      for (const Expr &r : active_reads(e)) {
        Expr d2 = diff(diff(e.residual, r), e.lhs);
        if (d2.is_zero()) continue;
        for (auto k : space_offsets(r, e.str()))
          TENET_USER_CHECK(k == 0, "cannot differentiate `", e.str(), "`: ", r.str(), " is read away from the point "
                           "in a term that also holds the solved target");
        out.push_back({r, d2, &*it});
      }
    }
    return out;
  }

  // Emits ubar-target (+)= rhs, assigning when the target level is fresh this step.
  void contribute(const Expr &target, const Expr &rhs, std::vector<Eq> &out, const std::string &note) {
    const FieldData *f = field_of(target);
    bool fresh = false;
    if (f->kind == FieldKind::TimeFunction) {
      auto key = std::make_pair(f, time_offset(target));
      fresh = fresh_.erase(key) > 0;
    }
    Eq e(target, rhs, note);
    e.kind = fresh ? EqKind::Assign : EqKind::Increment;
    out.push_back(e);
  }

  // Sparse injection into a derivative field; a fresh level is cleared first.
  void contribute_sparse(const Eq &inject, std::vector<Eq> &out) {
    const FieldData *f = field_of(inject.lhs);
    if (f->kind == FieldKind::TimeFunction) {
      auto key = std::make_pair(f, time_offset(inject.lhs));
      if (fresh_.erase(key)) out.emplace_back(inject.lhs, Expr(0), "first contribution this step");
    }
    out.push_back(inject);
  }

  void transpose_dense(const Eq &e, std::vector<Eq> &out) {
    const std::string where = e.str();
    const Expr wbar = dot(e.lhs);
    std::vector<std::pair<Expr, std::vector<Expr>>> groups;  // target -> terms
    bool self = false;
    for (const Expr &r : active_reads(e)) {
      if (r == e.lhs) self = true;
      Expr c = reverse_coefficient(e, r);
      std::vector<std::int64_t> k = space_offsets(r, where);
      Expr target = dot_plain(r);
      Expr term = shift_space(c * wbar, k, -1);
      auto g = std::find_if(groups.begin(), groups.end(), [&](const auto &p) { return p.first == target; });
      if (g == groups.end()) groups.push_back({target, {term}});
      else g->second.push_back(term);
    }
    const std::string note = "adjoint of " + (e.note.empty() ? e.lhs.str() : e.note);
    // Contributions to other targets first: the lhs adjoint is still the new value's.
    for (auto &[target, terms] : groups)
      if (target != wbar) contribute(target, add(terms), out, note);
    for (const Correction &c : injection_corrections(e)) {
      Eq s = SparseTimeFunction::from_data(c.injection->sparse)
                 .inject(dot_plain(c.read), c.d2 * reciprocal(e) * wbar * c.injection->rhs);
      s.note = note + ": correction for the injection after the solve";
      contribute_sparse(s, out);
    }
    const FieldData *w = field_of(e.lhs);
    auto self_group = std::find_if(groups.begin(), groups.end(), [&](const auto &p) { return p.first == wbar; });
    if (e.kind == EqKind::Increment) {
      // w += F: the old value passes through unchanged, plus dF/dw.
      if (self_group != groups.end()) out.push_back(Inc(wbar, add(self_group->second), note));
    } else if (self) {
      // w = F(w): the adjoint of the old value replaces the new one's.
      out.emplace_back(wbar, add(self_group->second), note);
    } else if (w->kind == FieldKind::Function) {
      // The overwritten value is dead: its adjoint is zero (time levels are handled by the
      // fresh-level assignment instead).
      out.emplace_back(wbar, Expr(0), note + ": the overwritten value has no adjoint");
    }
  }

  // The adjoint of an injection reads the target's adjoint `ubar` at the points: the sources
  // get an interpolation of it, grid fields in the injected expression an injection.
  void transpose_inject(const Eq &e, std::vector<Eq> &out) { transpose_inject(e, dot(e.lhs), out); }
  void transpose_inject(const Eq &e, const Expr &ubar, std::vector<Eq> &out) {
    const std::string note = "adjoint of " + (e.note.empty() ? "injection" : e.note);
    for (const Expr &r : active_accesses(e.rhs)) {
      const FieldData *f = field_of(r);
      Expr c = diff(e.rhs, r) * ubar;
      if (f->kind == FieldKind::Sparse) {
        Eq g = SparseTimeFunction::from_data(d_.at(f)).interpolate(c);
        g.lhs = dot(r);
        g.accumulate = true;
        g.note = note;
        out.push_back(g);
      } else {
        for (auto k : space_offsets(r, e.str()))
          TENET_USER_CHECK(k == 0, "cannot transpose `", e.str(), "`: the injected expression reads ", r.str(),
                           " away from the point; use the field at [x, y, z]");
        Eq s = SparseTimeFunction::from_data(e.sparse).inject(dot(r), c);
        s.note = note;
        contribute_sparse(s, out);
      }
    }
  }

  void transpose_interpolate(const Eq &e, std::vector<Eq> &out) {
    const Expr rbar = dot(e.lhs);
    const std::string note = "adjoint of " + (e.note.empty() ? "interpolation" : e.note);
    for (const Expr &r : active_accesses(e.rhs)) {
      const FieldData *f = field_of(r);
      TENET_USER_CHECK(f->kind != FieldKind::Sparse, "cannot transpose `", e.str(), "`: it interpolates sparse data");
      for (auto k : space_offsets(r, e.str()))
        TENET_USER_CHECK(k == 0, "cannot transpose `", e.str(), "`: the interpolated expression reads ", r.str(),
                         " away from the point; use the field at [x, y, z]");
      Eq s = SparseTimeFunction::from_data(e.sparse).inject(dot(r), diff(e.rhs, r) * rbar);
      s.note = note;
      contribute_sparse(s, out);
    }
  }

  // A derivative field this differentiator made (an adjoint, e.g. u_bar), not a forward one.
  bool is_adjoint(const FieldData *f) const {
    return std::any_of(d_.begin(), d_.end(), [&](const auto &p) { return p.second.get() == f; });
  }

  const std::vector<Eq> &fwd_;
  const Grid *grid_ = nullptr;
  Expr t_;
  std::map<const FieldData *, std::shared_ptr<FieldData>> active_;
  std::set<const FieldData *> written_, params_, read_fields_;
  std::set<std::string> read_;  // names, for messages
  std::map<const FieldData *, std::shared_ptr<FieldData>> d_;
  std::set<std::pair<const FieldData *, std::int64_t>> fresh_;
  int halo_ = 0;
  bool at_rest_ = false;
  std::vector<Eq> prepare_;
  ExprMap reciprocals_;  // a -> access to the field holding 1/a
};

}  // namespace

DerivativeOperator adjoint(const std::vector<Eq> &forward, const DiffRequest &req, OperatorOptions opts) {
  return Differentiator(forward, req, "_bar").adjoint(std::move(opts), req.time_gather);
}

DerivativeOperator tangent(const std::vector<Eq> &forward, const DiffRequest &req, OperatorOptions opts,
                           bool with_forward) {
  return Differentiator(forward, req, "_dot").tangent(std::move(opts), with_forward);
}

}  // namespace tenet
