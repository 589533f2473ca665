#include "ir/VectorPlan.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "symbolic/Transform.h"

namespace tenet {
namespace {

// Arithmetic that GCC/Clang vector extensions do element-wise: sums, products, quotients and
// small integer powers (printed as products). Anything else stays scalar code.
bool vector_arithmetic(const Expr &e) {
  switch (e.kind()) {
    case NodeKind::Number:
    case NodeKind::Access: return true;  // indices are checked with the rows
    case NodeKind::Call: return false;
    case NodeKind::Symbol: return e->symbol_kind == SymbolKind::Scalar || e->symbol_kind == SymbolKind::Temp;
    case NodeKind::Pow: {
      const Expr &x = e.ops()[1];
      if (!x.is_exact() || !x.rational().is_integer() || std::llabs(x.rational().num) < 1 ||
          std::llabs(x.rational().num) > 4)
        return false;
      return vector_arithmetic(e.ops()[0]);
    }
    default:
      for (const Expr &o : e.ops())
        if (!vector_arithmetic(o)) return false;
      return true;
  }
}

}  // namespace

std::optional<VectorPlan> plan_vector_loop(const Kernel &k, const Stmt &loop, int vector_bytes) {
  if (!k.grid || k.grid->ndim() < 2 || loop.kind() != StmtKind::For || loop->backward || !loop->step.is_one())
    return std::nullopt;
  const Expr z = k.grid->dims().back();
  if (loop->var != z) return std::nullopt;
  const int width = vector_bytes / static_cast<int>(dtype_size(k.dtype));
  if (width < 2) return std::nullopt;

  VectorPlan plan;
  plan.width = width;
  std::unordered_map<Expr, int> row_of;
  // Per row: statements writing it, the last of them, and the first statement reading it.
  std::vector<int> writes, written_at, first_read;
  int stmt = 0;
  // Registers one access; false when it is not a grid row at a constant offset along z.
  auto add = [&](const Expr &a, bool write) {
    const FieldData *f = field_of(a);
    if (f == nullptr || f->integer || f->dtype != k.dtype ||
        (f->kind != FieldKind::Function && f->kind != FieldKind::TimeFunction))
      return false;
    std::vector<Expr> idx = a.ops();
    for (std::size_t i = 0; i + 1 < idx.size(); ++i)
      if (contains(idx[i], z)) return false;
    Expr off = idx.back() - z;
    if (!off.is_exact() || !off.rational().is_integer()) return false;
    const std::int64_t o = off.rational().num;
    if (std::llabs(o) > width || (write && o != 0)) return false;
    idx.back() = z;
    Expr at = access(a->field, idx);
    auto [it, fresh] = row_of.emplace(at, static_cast<int>(plan.rows.size()));
    if (fresh) {
      plan.rows.push_back(VectorRow{at, {}, false, false});
      writes.push_back(0);
      written_at.push_back(-1);
      first_read.push_back(std::numeric_limits<int>::max());
    }
    const auto i = static_cast<std::size_t>(it->second);
    VectorRow &r = plan.rows[i];
    if (write) {
      r.written = true;
      ++writes[i];
      written_at[i] = stmt;
    } else {
      r.offsets.insert(static_cast<int>(o));
      first_read[i] = std::min(first_read[i], stmt);
    }
    plan.where[a] = {it->second, static_cast<int>(o)};
    return true;
  };
  for (const Stmt &s : loop->body[0]->body) {
    switch (s.kind()) {
      case StmtKind::Comment: continue;
      case StmtKind::Define:
        if (s->integer || !vector_arithmetic(s->rhs)) return std::nullopt;
        break;
      case StmtKind::Assign:
        if (!vector_arithmetic(s->rhs) || !add(s->lhs, true)) return std::nullopt;
        break;
      default: return std::nullopt;
    }
    for (const Expr &a : accesses(s->rhs))
      if (!add(a, false)) return std::nullopt;
    ++stmt;
  }
  // A row read and written in the same body would need the scalar order of its statements
  // (rows of other time levels or at other outer offsets are other memory), unless it is
  // written once and only read afterwards at the point written: then the reads take the
  // value from the register the store came from, which is what the scalar order gives.
  for (std::size_t i = 0; i < plan.rows.size(); ++i) {
    VectorRow &r = plan.rows[i];
    if (!r.written || r.offsets.empty()) continue;
    if (writes[i] != 1 || r.offsets != std::set<int>{0} || first_read[i] <= written_at[i]) return std::nullopt;
    r.forwarded = true;
  }
  return plan;
}

}  // namespace tenet
