#include <unordered_map>
#include <unordered_set>

#include "passes/Passes.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

bool compound(const Expr &e) {
  if (e.is_number() || e.is_symbol() || e.is_access()) return false;
  // -x is folded into the arithmetic by the C compiler for free; not worth a temporary.
  if (e.kind() == NodeKind::Mul && e.ops().size() == 2 && e.ops()[0].is_number() && e.ops()[0].number_value() == -1)
    return false;
  return true;
}

// The first statement of the body writing each field: a temporary (computed before the
// statements) must not stand for a read that comes after the field changes.
std::unordered_map<const FieldBase *, std::size_t> first_writes(const std::vector<Stmt> &body) {
  std::unordered_map<const FieldBase *, std::size_t> out;
  for (std::size_t i = 0; i < body.size(); ++i)
    if (body[i].kind() == StmtKind::Assign) out.emplace(body[i]->lhs->field.get(), i);
  return out;
}

// The last statement in which each subexpression occurs.
std::unordered_map<const Node *, std::size_t> last_uses(const std::vector<Stmt> &body) {
  std::unordered_map<const Node *, std::size_t> out;
  for (std::size_t i = 0; i < body.size(); ++i)
    if (body[i].kind() == StmtKind::Assign || body[i].kind() == StmtKind::Define)
      visit(body[i]->rhs, [&](const Expr &x) { out[x.get()] = i; });
  return out;
}

class BodyCSE {
 public:
  explicit BodyCSE(const std::vector<Stmt> &body)
      : body_(body), first_write_(first_writes(body)), last_use_(last_uses(body)) {
    for (const Stmt &s : body)
      if (s.kind() == StmtKind::Define) defined_.insert(s->lhs);
  }

  Stmt run() {
    compute_repeated();
    if (repeated_.empty()) return Stmt();
    std::vector<Stmt> out;
    for (const Stmt &s : body_) {
      if (s.kind() == StmtKind::Assign) out.push_back(make_assign(s->lhs, replace(s->rhs), s->accumulate));
      else if (s.kind() == StmtKind::Define) out.push_back(make_define(s->lhs, replace(s->rhs), s->integer));
      else out.push_back(s);
    }
    // Temporaries first, then the statements (a temporary never reads a written field).
    std::vector<Stmt> ordered = defines_;
    for (const Stmt &s : out) ordered.push_back(s);
    return make_block(std::move(ordered));
  }

 private:
  // Every occurrence of `e` reads the fields before the body writes them (a statement reads its
  // right-hand side before its own write): e.g. the gradient update and the adjoint update of
  // one step share the adjoint stencil, both before the adjoint level is written.
  // Temporaries are defined before every statement, so `e` must not use one the body defines.
  bool safe(const Expr &e) const {
    const std::size_t last = last_use_.at(e.get());
    bool ok = true;
    visit(e, [&](const Expr &x) {
      if (x.is_symbol() && defined_.count(x)) ok = false;
      if (!x.is_access()) return;
      auto w = first_write_.find(x->field.get());
      if (w != first_write_.end() && last > w->second) ok = false;
    });
    return ok;
  }

  Expr replace(const Expr &e) {
    std::function<Expr(const Expr &)> go = [&](const Expr &x) -> Expr {
      if (!compound(x)) return x;
      auto it = temps_.find(x);
      if (it != temps_.end()) return it->second;
      std::vector<Expr> ops;
      for (const Expr &c : x.ops()) ops.push_back(go(c));
      Expr rebuilt = make(x, std::move(ops));
      if (repeated_.count(x.get()) && safe(x)) {
        Expr t = symbol("s" + std::to_string(temps_.size()), SymbolKind::Temp);
        temps_.emplace(x, t);
        defines_.push_back(make_define(t, rebuilt));
        return t;
      }
      return rebuilt;
    };
    return go(e);
  }

  static Expr make(const Expr &x, std::vector<Expr> ops) {
    switch (x.kind()) {
      case NodeKind::Add: return add(std::move(ops));
      case NodeKind::Mul: return mul(std::move(ops));
      case NodeKind::Pow: return pow(ops[0], ops[1]);
      case NodeKind::Call: return call(x->fn, std::move(ops));
      case NodeKind::Number:
      case NodeKind::Symbol:
      case NodeKind::Access: return x;
    }
    return x;
  }

  // Counts occurrences, expanding a repeated subexpression only once, until stable: a node
  // that only occurs inside one repeated parent then counts once and gets no temporary.
  void compute_repeated() {
    std::unordered_map<const Node *, int> count;
    std::unordered_set<const Node *> rep, expanded;
    for (int iter = 0; iter < 4; ++iter) {
      count.clear();
      expanded.clear();
      std::function<void(const Expr &)> go = [&](const Expr &e) {
        if (!compound(e)) return;
        int c = ++count[e.get()];
        if (rep.count(e.get())) {
          if (c > 1 || !expanded.insert(e.get()).second) return;
        }
        for (const Expr &x : e.ops()) go(x);
      };
      for (const Stmt &s : body_)
        if (s.kind() == StmtKind::Assign || s.kind() == StmtKind::Define) go(s->rhs);
      std::unordered_set<const Node *> next;
      for (auto &[n, c] : count)
        if (c > 1) next.insert(n);
      if (next == rep) break;
      rep = std::move(next);
    }
    repeated_ = rep;
  }

  const std::vector<Stmt> &body_;
  std::unordered_map<const FieldBase *, std::size_t> first_write_;
  std::unordered_map<const Node *, std::size_t> last_use_;
  std::unordered_set<Expr> defined_;  // symbols the body's own Define statements introduce
  std::unordered_set<const Node *> repeated_;
  ExprMap temps_;
  std::vector<Stmt> defines_;
};

// The statements of a body, nested blocks (one per equation) flattened.
void flatten(const Stmt &s, std::vector<Stmt> &out) {
  if (s.kind() == StmtKind::Block)
    for (const Stmt &c : s->body) flatten(c, out);
  else
    out.push_back(s);
}

// Applies CSE to the body of every innermost loop, across all its statements.
class CSEMutator : public IRMutator {
 protected:
  Stmt visit_For(const Stmt &s) override {
    std::vector<Stmt> body;
    flatten(s->body[0], body);
    bool innermost = true;
    for (const Stmt &c : body) innermost &= c.kind() != StmtKind::For;
    if (!innermost) return IRMutator::visit_For(s);
    BodyCSE cse(body);
    Stmt nb = cse.run();
    if (!nb.defined()) return s;
    return make_for(s->var, s->min, s->max, nb, s->for_kind, s->step, s->backward, s->collapse);
  }
};

}  // namespace

void eliminate_common_subexpressions(Kernel &k) {
  CSEMutator m;
  k.body = m.mutate(k.body);
}

}  // namespace tenet
