#include "passes/Passes.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

bool invariant(const Expr &e) {
  bool ok = true;
  visit(e, [&](const Expr &x) {
    if (x.is_access()) ok = false;
    if (x.is_symbol() && (x->symbol_kind == SymbolKind::Dimension || x->symbol_kind == SymbolKind::Index)) ok = false;
  });
  return ok;
}

bool compound(const Expr &e) { return !e.is_number() && !e.is_symbol(); }

class Hoister : public IRMutator {
 public:
  std::vector<Stmt> defines;

  using IRMutator::mutate;
  Expr mutate(const Expr &e) override { return hoist(e); }

 private:
  Expr temp_for(const Expr &e) {
    auto it = temps_.find(e);
    if (it != temps_.end()) return it->second;
    Expr t = symbol("r" + std::to_string(temps_.size()), SymbolKind::Temp);
    temps_.emplace(e, t);
    defines.push_back(make_define(t, e));
    return t;
  }

  Expr hoist(const Expr &e) {
    if (invariant(e)) return compound(e) ? temp_for(e) : e;
    if (e.kind() == NodeKind::Mul || e.kind() == NodeKind::Add) {
      std::vector<Expr> inv, var;
      for (const Expr &c : e.ops()) {
        if (invariant(c)) inv.push_back(c);
        else var.push_back(hoist(c));
      }
      bool is_mul = e.kind() == NodeKind::Mul;
      if (!inv.empty()) {
        Expr part = is_mul ? mul(inv) : add(inv);
        var.push_back(compound(part) ? temp_for(part) : part);
      }
      return is_mul ? mul(std::move(var)) : add(std::move(var));
    }
    if (e.kind() == NodeKind::Access) return e;  // indices stay as they are
    std::vector<Expr> ops;
    bool changed = false;
    for (const Expr &c : e.ops()) {
      ops.push_back(hoist(c));
      changed |= ops.back() != c;
    }
    if (!changed) return e;
    if (e.kind() == NodeKind::Pow) return pow(ops[0], ops[1]);
    return call(e->fn, std::move(ops));
  }

  ExprMap temps_;
};

}  // namespace

void hoist_invariants(Kernel &k) {
  Hoister h;
  Stmt body = h.mutate(k.body);
  if (h.defines.empty()) return;
  std::vector<Stmt> stmts{make_comment("loop-invariant factors, computed once")};
  stmts.insert(stmts.end(), h.defines.begin(), h.defines.end());
  stmts.push_back(body);
  k.body = make_block(std::move(stmts));
}

}  // namespace tenet
