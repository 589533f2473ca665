#include "ir/Lower.h"

#include <algorithm>

#include "ir/Clusters.h"
#include "support/Error.h"
#include "symbolic/Transform.h"

namespace tenet {

const IntArg *Kernel::int_arg(IntArg::Role role, int dim) const {
  for (const IntArg &a : int_args)
    if (a.role == role && a.dim == dim) return &a;
  return nullptr;
}

Expr Kernel::new_int_arg(const std::string &n, IntArg::Role role, int dim) {
  Expr s = symbol(n, SymbolKind::Index);
  int_args.push_back(IntArg{s, role, dim});
  return s;
}

namespace {

void add_field(Kernel &k, const std::shared_ptr<FieldData> &f) {
  if (std::find(k.fields.begin(), k.fields.end(), f) == k.fields.end()) k.fields.push_back(f);
}

void collect(Kernel &k, const Expr &e) {
  visit(e, [&](const Expr &x) {
    if (x.is_access()) {
      auto f = field_ptr_of(x);
      TENET_INTERNAL_CHECK(f != nullptr, "access to an unknown field kind: ", x.str());
      add_field(k, f);
      if (f->kind == FieldKind::TimeFunction || f->kind == FieldKind::Sparse) k.has_time = true;
    } else if (x.is_symbol() && x->symbol_kind == SymbolKind::Scalar) {
      if (std::find(k.scalar_args.begin(), k.scalar_args.end(), x) == k.scalar_args.end()) k.scalar_args.push_back(x);
    }
  });
}

// The grid every function of the equations lives on: one Grid object (each has its own
// dimension and time symbols, so functions of two grids, even of one shape, cannot be mixed).
const Grid &find_grid(const std::vector<Eq> &eqs) {
  const FieldData *first = nullptr;
  for (const Eq &e : eqs)
    for (const Expr &x : {e.lhs, e.rhs})
      for (const Expr &a : accesses(x)) {
        const FieldData *f = field_of(a);
        if (!f) continue;
        if (!first) first = f;
        TENET_USER_CHECK(f->grid == first->grid, "'", f->name(), "' and '", first->name(),
                         "' live on different Grid objects; every function of one Operator must be created on the "
                         "same Grid (a copy of the Grid object is the same grid, a second Grid of the same shape "
                         "is not)");
      }
  if (first) return first->grid;
  throw Error("an Operator's equations must use at least one function on a grid");
}

std::string comment_of(const Eq &e) { return e.note.empty() ? e.str() : e.note + ": " + e.str(); }

Stmt lower_dense(Kernel &k, const Cluster &c, const Grid &g) {
  std::vector<Stmt> body;
  for (const Eq &e : c.eqs) body.push_back(make_assign(e.lhs, e.rhs, e.kind == EqKind::Increment));
  Stmt s = make_block(std::move(body));
  for (int d = g.ndim() - 1; d >= 0; --d) {
    Expr lo = k.int_arg(IntArg::Role::DimMin, d)->symbol, hi = k.int_arg(IntArg::Role::DimMax, d)->symbol;
    s = make_for(g.dim(d), lo - Expr(c.extend), hi + Expr(c.extend), s);
  }
  std::vector<Stmt> out;
  for (const Eq &e : c.eqs) out.push_back(make_comment(comment_of(e)));
  out.push_back(s);
  return make_block(std::move(out));
}

Stmt lower_sparse(Kernel &k, const Eq &e, const Grid &g) {
  const auto &sp = e.sparse;
  TENET_USER_CHECK(sp->grid == g, "shape mismatch: sparse function ", sp->name(), " lives on another grid");
  const int nd = g.ndim();
  SparseTables t;
  t.sparse = sp;
  t.index = std::make_shared<FieldData>(sp->name() + "_idx", FieldKind::Table, g, g.dtype());
  t.index->integer = true;
  t.index->alloc = {sp->npoint, nd};
  t.index->allocate();
  t.weight = std::make_shared<FieldData>(sp->name() + "_w", FieldKind::Table, g, sp->dtype);
  t.weight->alloc = {sp->npoint, std::int64_t{1} << nd};
  t.weight->allocate();
  k.tables.push_back(t);
  add_field(k, t.index);
  add_field(k, t.weight);
  const Expr &p = sp->point_dim;
  // The loop runs over sp's points: other sparse data must be indexed by the same points.
  for (const Expr &a : accesses(e.rhs)) {
    const FieldData *r = field_of(a);
    if (!r || r->kind != FieldKind::Sparse) continue;
    TENET_USER_CHECK(r->point_dim == p, "`", e.str(), "` reads ", a.str(), ", but it runs over the points of ",
                     sp->name(), " (", p.str(), "), not those of ", r->name(), " (", r->point_dim.str(),
                     "); use data of ", sp->name(), " itself, or of a function sharing its points");
  }

  if (e.kind == EqKind::Inject) {
    const FieldData *f = field_of(e.lhs);
    std::size_t first = f->first_space();
    for (int i = 0; i < nd; ++i)
      TENET_USER_CHECK(e.lhs.ops()[first + static_cast<std::size_t>(i)] == g.dim(i), "inject into ", e.lhs.str(),
                       ": the target must be indexed by the plain dimensions");
  }
  std::vector<Stmt> body;
  std::vector<Expr> gathered;
  for (int c = 0; c < (1 << nd); ++c) {
    ExprMap corner;
    for (int i = 0; i < nd; ++i) {
      int bit = (c >> (nd - 1 - i)) & 1;
      corner.emplace(g.dim(i), access(t.index, {p, Expr(i)}) + Expr(bit));
    }
    Expr w = access(t.weight, {p, Expr(c)});
    if (e.kind == EqKind::Inject) body.push_back(make_assign(substitute(e.lhs, corner), w * substitute(e.rhs, corner), true));
    else gathered.push_back(w * substitute(e.rhs, corner));
  }
  if (e.kind == EqKind::Interpolate) body.push_back(make_assign(e.lhs, add(std::move(gathered)), e.accumulate));
  Stmt loop = make_for(p, Expr(0), Expr(sp->npoint - 1), make_block(std::move(body)));
  return make_block({make_comment(comment_of(e)), loop});
}

}  // namespace

Kernel lower(const std::vector<Eq> &eqs, const LowerOptions &opts) {
  std::vector<Cluster> clusters = make_clusters(eqs);
  Kernel k;
  k.name = opts.name;
  k.backward = opts.backward;
  k.equations = eqs;
  const Grid &g = find_grid(eqs);
  k.grid = g;
  for (const Eq &e : eqs) {
    collect(k, e.lhs);
    collect(k, e.rhs);
    if (e.sparse) {
      add_field(k, e.sparse);
      k.has_time = true;
    }
  }
  for (const auto &f : k.fields)
    if (f->kind != FieldKind::Table && f->dtype == DType::Float64) k.dtype = DType::Float64;
  if (k.has_time) {
    k.new_int_arg("time_m", IntArg::Role::TimeMin);
    k.new_int_arg("time_M", IntArg::Role::TimeMax);
  }
  for (int d = 0; d < g.ndim(); ++d) {
    k.new_int_arg(g.dim(d)->name + "_m", IntArg::Role::DimMin, d);
    k.new_int_arg(g.dim(d)->name + "_M", IntArg::Role::DimMax, d);
  }
  std::vector<Stmt> stmts;
  for (const Cluster &c : clusters) stmts.push_back(c.sparse ? lower_sparse(k, c.eqs[0], g) : lower_dense(k, c, g));
  Stmt body = make_block(std::move(stmts));
  if (k.has_time) {
    body = make_for(g.time_dim(), k.int_arg(IntArg::Role::TimeMin)->symbol, k.int_arg(IntArg::Role::TimeMax)->symbol,
                    body, ForKind::Time, Expr(1), opts.backward);
  }
  k.body = body;
  return k;
}

}  // namespace tenet
