#include "ir/Clusters.h"

#include <algorithm>
#include <map>

#include "support/Error.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

struct Touch {
  const FieldData *field;
  Expr time;                         // undefined for fields without time
  std::vector<Expr> offsets;         // space index minus the dimension, per space dim
  bool plain() const {
    return std::all_of(offsets.begin(), offsets.end(), [](const Expr &o) { return o.is_zero(); });
  }
};

Touch touch_of(const Expr &a) {
  const FieldData *f = field_of(a);
  Touch t{f, Expr(), {}};
  std::size_t first = 0;
  if (f->kind == FieldKind::TimeFunction) {
    t.time = a.ops()[0];
    first = 1;
  }
  for (std::size_t i = first; i < a.ops().size(); ++i) t.offsets.push_back(a.ops()[i] - f->grid.dim(static_cast<int>(i - first)));
  return t;
}

bool same_target(const Touch &a, const Touch &b) { return a.field == b.field && a.time == b.time; }

std::vector<Touch> reads_of(const Eq &e) {
  std::vector<Touch> out;
  for (const Expr &a : accesses(e.rhs)) {
    const FieldData *f = field_of(a);
    if (!f || f->kind == FieldKind::Sparse || f->kind == FieldKind::Table) continue;
    out.push_back(touch_of(a));
  }
  return out;
}

void check_dense(const Eq &e) {
  const FieldData *f = field_of(e.lhs);
  TENET_USER_CHECK(f && f->on_grid(),
                   "cannot schedule `", e.str(), "`: its left-hand side must be a Function or TimeFunction");
  const Grid &g = f->grid;
  std::size_t first = f->first_space();
  if (first) {
    TENET_USER_CHECK(contains(e.lhs.ops()[0], g.time_dim()), "cannot schedule `", e.str(), "`: the time index of ",
                     e.lhs.str(), " must be t plus a constant, such as t + 1");
  }
  for (int i = 0; i < g.ndim(); ++i)
    TENET_USER_CHECK(e.lhs.ops()[first + static_cast<std::size_t>(i)] == g.dim(i), "cannot schedule `", e.str(),
                     "`: the left-hand side must be indexed by the plain dimensions (", g.dim(i).str(),
                     "), not ", e.lhs.ops()[first + static_cast<std::size_t>(i)].str());
  Touch w = touch_of(e.lhs);
  for (const Expr &a : accesses(e.rhs)) {
    const FieldData *r = field_of(a);
    if (!r || r->kind == FieldKind::Table) continue;
    TENET_USER_CHECK(r->kind != FieldKind::Sparse, "cannot schedule `", e.str(), "`: sparse data ", r->name(),
                     " can only be used through inject or interpolate");
    TENET_USER_CHECK(r->grid == g, "shape mismatch in `", e.str(), "`: ", r->name(), " lives on another grid than ",
                     f->name(), "; put all functions of an operator on one Grid");
    Touch t = touch_of(a);
    for (std::size_t i = 0; i < t.offsets.size(); ++i) {
      const Expr &o = t.offsets[i];
      TENET_USER_CHECK(o.is_exact() && o.rational().is_integer(), "cannot schedule `", e.str(), "`: index ",
                       a.str(), " is not its dimension plus an integer constant");
      std::int64_t k = std::abs(o.rational().num) + e.extend;
      TENET_USER_CHECK(k <= r->halo[i], "cannot schedule `", e.str(), "`: it reads ", a.str(), ", ", k,
                       " points from the iteration space, but ", r->name(), " has a halo of ", r->halo[i],
                       "; create it with a larger space order or halo");
    }
    if (same_target(t, w) && !t.plain())
      throw Error(internal::cat("cannot schedule `", e.str(), "`: it writes ", e.lhs.str(), " and reads ", a.str(),
                                " in the same sweep, so the result would depend on the loop order; write into "
                                "another time level or another function"));
  }
}

// Fusing `e` into the cluster would change what some equation reads.
bool conflicts(const Cluster &c, const Eq &e) {
  if (c.sparse || c.extend != e.extend) return true;
  Touch w = touch_of(e.lhs);
  for (const Eq &prev : c.eqs) {
    Touch pw = touch_of(prev.lhs);
    for (const Touch &r : reads_of(e))
      if (same_target(r, pw) && !r.plain()) return true;
    for (const Touch &r : reads_of(prev))
      if (same_target(r, w) && !r.plain()) return true;
  }
  return false;
}

// A TimeFunction with fewer modulo buffers than the levels a step touches keeps levels in
// place: the level a step writes overwrites an older one (buffers = time_order: u[t+1] takes
// u[t-1]'s place). That is exact only when every read of the overwritten level is at the
// point written (the same point of the same sweep) and comes no later than the first write.
void check_in_place(const std::vector<Eq> &eqs) {
  struct Use {
    std::size_t eq;
    std::int64_t k;
    bool write, plain;
    Expr access;
  };
  std::map<const FieldData *, std::vector<Use>> uses;
  auto add = [&](std::size_t i, const Expr &a, bool write) {
    const FieldData *f = field_of(a);
    if (!f || f->kind != FieldKind::TimeFunction || f->saved) return;
    Touch t = touch_of(a);
    Expr k = t.time - f->grid.time_dim();
    if (!k.is_exact() || !k.rational().is_integer()) return;  // check_dense names it
    uses[f].push_back(Use{i, k.rational().num, write, t.plain(), a});
  };
  for (std::size_t i = 0; i < eqs.size(); ++i) {
    const Eq &e = eqs[i];
    if (e.kind != EqKind::Interpolate) add(i, e.lhs, true);
    for (const Expr &a : accesses(e.rhs)) add(i, a, false);
  }
  for (const auto &[f, us] : uses) {
    const std::int64_t n = f->nbuf;
    for (const Use &w : us) {
      if (!w.write) continue;
      std::size_t first = w.eq;  // the first write of that level
      for (const Use &o : us)
        if (o.write && o.k == w.k) first = std::min(first, o.eq);
      for (const Use &r : us) {
        if (r.write || r.k == w.k || ((r.k - w.k) % n + n) % n != 0) continue;
        TENET_USER_CHECK(r.plain && r.eq <= first, "`", eqs[r.eq].str(), "` reads ", r.access.str(), ", but ",
                         f->name(), " has ", n, " time buffers, so ", w.access.str(), " overwrites that level in place;"
                         " that is exact only when every read of the overwritten level is at the point written and "
                         "comes no later than the first write (", eqs[first].str(), "); give ", f->name(),
                         " more buffers (TimeFunctionOptions::buffers, default time_order + 1)");
      }
    }
  }
}

}  // namespace

std::vector<Cluster> make_clusters(const std::vector<Eq> &eqs) {
  TENET_USER_CHECK(!eqs.empty(), "an Operator needs at least one equation");
  check_in_place(eqs);
  std::vector<Cluster> out;
  for (const Eq &e : eqs) {
    TENET_USER_CHECK(e.lhs.defined() && e.rhs.defined(), "an equation of the operator is empty");
    if (e.kind == EqKind::Inject || e.kind == EqKind::Interpolate) {
      TENET_USER_CHECK(e.extend == 0, "sparse operations iterate over their points; `extend` does not apply");
      out.push_back(Cluster{true, 0, {e}});
      continue;
    }
    check_dense(e);
    if (out.empty() || conflicts(out.back(), e)) out.push_back(Cluster{false, e.extend, {e}});
    else out.back().eqs.push_back(e);
  }
  return out;
}

}  // namespace tenet
