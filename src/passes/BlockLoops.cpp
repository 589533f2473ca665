#include "passes/Passes.h"

namespace tenet {
namespace {

// A dense nest: For over grid dimension 0 whose body is exactly For over dimension 1, ...
bool is_dense_nest(const Stmt &s, const Grid &g) {
  return s.kind() == StmtKind::For && s->for_kind == ForKind::Serial && s->var == g.dim(0);
}

class Blocker : public IRMutator {
 public:
  Blocker(Kernel &k) : k_(k), g_(*k.grid) {}

  Stmt visit_For(const Stmt &s) override {
    if (!is_dense_nest(s, g_)) return IRMutator::visit_For(s);
    // Block the outer ndim-1 loops (at most two): the innermost stays whole for SIMD.
    const int nblock = std::min(g_.ndim() - 1, 2);
    if (nblock == 0) return s;
    std::vector<Stmt> loops{s};
    for (int d = 1; d <= nblock; ++d) loops.push_back(loops.back()->body[0]->body[0]);
    Stmt inner = loops[static_cast<std::size_t>(nblock)];
    // Innermost first: rebuild the point loops inside out, bounded by their block.
    for (int d = nblock - 1; d >= 0; --d) {
      const Stmt &l = loops[static_cast<std::size_t>(d)];
      Expr b = block_var(d), size = block_size(d);
      inner = make_for(l->var, b, min(b + size - Expr(1), l->max), inner);
    }
    for (int d = nblock - 1; d >= 0; --d) {
      const Stmt &l = loops[static_cast<std::size_t>(d)];
      inner = make_for(block_var(d), l->min, l->max, inner, ForKind::Serial, block_size(d));
    }
    return inner;
  }

 private:
  Expr block_var(int d) {
    while (static_cast<int>(vars_.size()) <= d)
      vars_.push_back(symbol(g_.dim(static_cast<int>(vars_.size()))->name + "0_blk", SymbolKind::Index));
    return vars_[static_cast<std::size_t>(d)];
  }
  Expr block_size(int d) {
    if (const IntArg *a = k_.int_arg(IntArg::Role::BlockSize, d)) return a->symbol;
    return k_.new_int_arg(g_.dim(d)->name + "0_blk_size", IntArg::Role::BlockSize, d);
  }

  Kernel &k_;
  const Grid &g_;
  std::vector<Expr> vars_;
};

}  // namespace

void block_loops(Kernel &k) {
  if (!k.grid || k.grid->ndim() < 2) return;
  Blocker b(k);
  k.body = b.mutate(k.body);
}

}  // namespace tenet
