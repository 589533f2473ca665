#include "ir/Stmt.h"

#include <functional>

#include "support/Error.h"

namespace tenet {

StmtKind Stmt::kind() const {
  TENET_INTERNAL_CHECK(defined(), "use of an undefined statement");
  return n_->kind;
}

Stmt make_block(std::vector<Stmt> stmts) {
  auto n = std::make_shared<StmtNode>();
  n->kind = StmtKind::Block;
  n->body = std::move(stmts);
  return Stmt(std::move(n));
}

Stmt make_for(Expr var, Expr min, Expr max, Stmt body, ForKind kind, Expr step, bool backward, int collapse) {
  auto n = std::make_shared<StmtNode>();
  n->kind = StmtKind::For;
  n->var = std::move(var);
  n->min = std::move(min);
  n->max = std::move(max);
  n->step = std::move(step);
  n->for_kind = kind;
  n->backward = backward;
  n->collapse = collapse;
  n->body = {body.kind() == StmtKind::Block ? body : make_block({body})};
  return Stmt(std::move(n));
}

Stmt make_assign(Expr lhs, Expr rhs, bool accumulate) {
  auto n = std::make_shared<StmtNode>();
  n->kind = StmtKind::Assign;
  n->lhs = std::move(lhs);
  n->rhs = std::move(rhs);
  n->accumulate = accumulate;
  return Stmt(std::move(n));
}

Stmt make_define(Expr var, Expr value, bool integer) {
  auto n = std::make_shared<StmtNode>();
  n->kind = StmtKind::Define;
  n->lhs = std::move(var);
  n->rhs = std::move(value);
  n->integer = integer;
  return Stmt(std::move(n));
}

Stmt make_comment(std::string text) {
  auto n = std::make_shared<StmtNode>();
  n->kind = StmtKind::Comment;
  n->text = std::move(text);
  return Stmt(std::move(n));
}

Stmt make_guard(Expr var, Expr min, Expr max, Expr range_min, Expr range_max, Stmt body) {
  auto n = std::make_shared<StmtNode>();
  n->kind = StmtKind::Guard;
  n->var = std::move(var);
  n->min = std::move(min);
  n->max = std::move(max);
  n->lhs = std::move(range_min);
  n->rhs = std::move(range_max);
  n->body = {body.kind() == StmtKind::Block ? body : make_block({body})};
  return Stmt(std::move(n));
}

Stmt IRMutator::mutate(const Stmt &s) {
  switch (s.kind()) {
#define TENET_CASE(k) \
  case StmtKind::k: return visit_##k(s);
    TENET_STMT_KINDS(TENET_CASE)
#undef TENET_CASE
  }
  return s;
}

Stmt IRMutator::visit_Block(const Stmt &s) {
  std::vector<Stmt> out;
  bool changed = false;
  for (const Stmt &c : s->body) {
    Stmt m = mutate(c);
    changed |= !(m == c);
    if (m.defined()) out.push_back(m);
  }
  return changed ? make_block(std::move(out)) : s;
}

Stmt IRMutator::visit_For(const Stmt &s) {
  Expr lo = mutate(s->min), hi = mutate(s->max), st = mutate(s->step);
  Stmt b = mutate(s->body[0]);
  if (lo == s->min && hi == s->max && st == s->step && b == s->body[0]) return s;
  // A copy keeps what only some kinds of loop carry (a pipeline's tile end and stage width).
  auto n = std::make_shared<StmtNode>(*s.get());
  n->min = lo;
  n->max = hi;
  n->step = st;
  n->body = {b.kind() == StmtKind::Block ? b : make_block({b})};
  return Stmt(std::move(n));
}

Stmt IRMutator::visit_Assign(const Stmt &s) {
  Expr l = mutate(s->lhs), r = mutate(s->rhs);
  if (l == s->lhs && r == s->rhs) return s;
  return make_assign(l, r, s->accumulate);
}

Stmt IRMutator::visit_Define(const Stmt &s) {
  Expr r = mutate(s->rhs);
  if (r == s->rhs) return s;
  return make_define(s->lhs, r, s->integer);
}

Stmt IRMutator::visit_Comment(const Stmt &s) { return s; }

Stmt IRMutator::visit_Guard(const Stmt &s) {
  Expr v = mutate(s->var), lo = mutate(s->min), hi = mutate(s->max), a = mutate(s->lhs), b = mutate(s->rhs);
  Stmt body = mutate(s->body[0]);
  if (v == s->var && lo == s->min && hi == s->max && a == s->lhs && b == s->rhs && body == s->body[0]) return s;
  return make_guard(v, lo, hi, a, b, body);
}

void walk(const Stmt &s, const std::function<void(const Stmt &)> &f) {
  f(s);
  for (const Stmt &c : s->body) walk(c, f);
}

std::string to_string(const Stmt &s, int indent) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  switch (s.kind()) {
    case StmtKind::Block: {
      std::string out;
      for (const Stmt &c : s->body) out += to_string(c, indent);
      return out;
    }
    case StmtKind::For: {
      static const char *kinds[] = {"serial", "parallel", "simd", "vector", "time", "time tiles", "single", "pipeline stages"};
      return pad + "for " + s->var.str() + " in [" + s->min.str() + ", " + s->max.str() + "] step " + s->step.str() +
             " (" + kinds[static_cast<int>(s->for_kind)] + (s->backward ? ", backward" : "") + ")\n" +
             to_string(s->body[0], indent + 2);
    }
    case StmtKind::Assign: return pad + s->lhs.str() + (s->accumulate ? " += " : " = ") + s->rhs.str() + "\n";
    case StmtKind::Define: return pad + "let " + s->lhs.str() + " = " + s->rhs.str() + "\n";
    case StmtKind::Comment: return pad + "// " + s->text + "\n";
    case StmtKind::Guard:
      return pad + "if " + s->var.str() + " in [" + s->min.str() + ", " + s->max.str() + "] of [" + s->lhs.str() + ", " +
             s->rhs.str() + "]\n" + to_string(s->body[0], indent + 2);
  }
  return "";
}

}  // namespace tenet
