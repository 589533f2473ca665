#include "passes/Passes.h"

namespace tenet {
namespace {

class Parallelizer : public IRMutator {
 public:
  explicit Parallelizer(const Kernel &k) : k_(k) {
    for (const IntArg &a : k.int_args)
      if (a.role == IntArg::Role::BlockSize) block_sizes_.push_back(a.symbol);
  }

  Stmt visit_For(const Stmt &s) override {
    if (s->for_kind == ForKind::Time || !is_dense(s)) return IRMutator::visit_For(s);
    // The outermost dense loop: collapse the block loops (all loops stepping by a block size).
    int collapse = 1;
    Stmt l = s;
    while (is_block_loop(l) && is_block_loop(l->body[0]->body[0])) {
      ++collapse;
      l = l->body[0]->body[0];
    }
    return make_for(s->var, s->min, s->max, mark_inner(s->body[0]), ForKind::Parallel, s->step, false, collapse);
  }

 private:
  bool is_block_loop(const Stmt &s) const {
    if (s.kind() != StmtKind::For) return false;
    for (const Expr &b : block_sizes_)
      if (s->step == b) return true;
    return false;
  }
  bool is_dense(const Stmt &s) const {
    if (s.kind() != StmtKind::For) return false;
    if (is_block_loop(s)) return true;
    return !k_.grid->dims().empty() && s->var == k_.grid->dims()[0];
  }
  // Marks the innermost loop of a nest `omp simd`.
  Stmt mark_inner(const Stmt &b) {
    class Inner : public IRMutator {
     public:
      Stmt visit_For(const Stmt &s) override {
        Stmt body = mutate(s->body[0]);
        bool innermost = true;
        for (const Stmt &c : s->body[0]->body) innermost &= c.kind() != StmtKind::For;
        return make_for(s->var, s->min, s->max, body, innermost ? ForKind::Simd : s->for_kind, s->step, s->backward,
                        s->collapse);
      }
    } inner;
    return inner.mutate(b);
  }

  const Kernel &k_;
  std::vector<Expr> block_sizes_;
};

}  // namespace

void parallelize(Kernel &k) {
  if (!k.grid) return;
  Parallelizer p(k);
  k.body = p.mutate(k.body);
}

}  // namespace tenet
