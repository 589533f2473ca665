#include "symbolic/Transform.h"

#include <unordered_set>

#include "support/Error.h"

namespace tenet {
namespace {

Expr rebuild(const Expr &e, std::vector<Expr> ops) {
  switch (e.kind()) {
    case NodeKind::Number:
    case NodeKind::Symbol: return e;
    case NodeKind::Access: return access(e->field, std::move(ops));
    case NodeKind::Call: return call(e->fn, std::move(ops));
    case NodeKind::Pow: return pow(ops[0], ops[1]);
    case NodeKind::Mul: return mul(std::move(ops));
    case NodeKind::Add: return add(std::move(ops));
  }
  return e;
}

Expr rewrite_memo(const Expr &e, const std::function<Expr(const Expr &)> &f, ExprMap &memo) {
  auto it = memo.find(e);
  if (it != memo.end()) return it->second;
  std::vector<Expr> ops;
  ops.reserve(e.ops().size());
  bool changed = false;
  for (const Expr &c : e.ops()) {
    ops.push_back(rewrite_memo(c, f, memo));
    changed |= ops.back() != c;
  }
  Expr r = f(changed ? rebuild(e, std::move(ops)) : e);
  memo.emplace(e, r);
  return r;
}

Expr diff_memo(const Expr &e, const Expr &var, ExprMap &memo) {
  if (e == var) return Expr(1);
  auto it = memo.find(e);
  if (it != memo.end()) return it->second;
  Expr r(0);
  switch (e.kind()) {
    case NodeKind::Number:
    case NodeKind::Symbol: r = Expr(0); break;
    case NodeKind::Access:
      // An access is an independent variable unless it is `var` itself; indices are integers.
      r = Expr(0);
      break;
    case NodeKind::Add: {
      std::vector<Expr> ts;
      for (const Expr &t : e.ops()) ts.push_back(diff_memo(t, var, memo));
      r = add(std::move(ts));
      break;
    }
    case NodeKind::Mul: {
      std::vector<Expr> ts;
      const auto &fs = e.ops();
      for (std::size_t i = 0; i < fs.size(); ++i) {
        Expr d = diff_memo(fs[i], var, memo);
        if (d.is_zero()) continue;
        std::vector<Expr> prod(fs);
        prod[i] = d;
        ts.push_back(mul(std::move(prod)));
      }
      r = add(std::move(ts));
      break;
    }
    case NodeKind::Pow: {
      const Expr &b = e.ops()[0], &x = e.ops()[1];
      Expr db = diff_memo(b, var, memo), dx = diff_memo(x, var, memo);
      std::vector<Expr> ts;
      if (!db.is_zero()) ts.push_back(mul({x, pow(b, x - Expr(1)), db}));
      if (!dx.is_zero()) ts.push_back(mul({e, log(b), dx}));
      r = add(std::move(ts));
      break;
    }
    case NodeKind::Call: {
      const Expr &a = e.ops()[0];
      Expr da = diff_memo(a, var, memo);
      switch (e->fn) {
        case Fn::Sqrt: r = da / (Expr(2) * e); break;
        case Fn::Exp: r = e * da; break;
        case Fn::Log: r = da / a; break;
        case Fn::Sin: r = cos(a) * da; break;
        case Fn::Cos: r = -sin(a) * da; break;
        case Fn::Abs:
          // d|a| = sign(a) da, written a/|a| (undefined at 0, as the function is)
          r = da.is_zero() ? Expr(0) : a / e * da;
          break;
        case Fn::Floor:
        case Fn::Mod: r = Expr(0); break;
        case Fn::Min:
        case Fn::Max: {
          // With s = sign(a - b) = (a - b)/|a - b|: d min = (da + db)/2 - s (da - db)/2 and
          // d max = (da + db)/2 + s (da - db)/2 (undefined where a == b, like |x| at 0).
          Expr db = diff_memo(e.ops()[1], var, memo);
          if (da.is_zero() && db.is_zero()) {
            r = Expr(0);
            break;
          }
          Expr gap = a - e.ops()[1];
          Expr s = gap / abs(gap);
          Expr half = (da + db) / Expr(2), jump = s * (da - db) / Expr(2);
          r = e->fn == Fn::Min ? half - jump : half + jump;
          break;
        }
      }
      break;
    }
  }
  memo.emplace(e, r);
  return r;
}

Expr expand_memo(const Expr &e, ExprMap &memo);

Expr expand_product(const std::vector<Expr> &factors) {
  // Distributes: each factor is already expanded.
  std::vector<Expr> acc{Expr(1)};
  for (const Expr &f : factors) {
    std::vector<Expr> terms = f.kind() == NodeKind::Add ? f.ops() : std::vector<Expr>{f};
    std::vector<Expr> next;
    next.reserve(acc.size() * terms.size());
    for (const Expr &a : acc)
      for (const Expr &t : terms) next.push_back(a * t);
    acc = std::move(next);
  }
  return add(std::move(acc));
}

Expr expand_memo(const Expr &e, ExprMap &memo) {
  auto it = memo.find(e);
  if (it != memo.end()) return it->second;
  Expr r = e;
  switch (e.kind()) {
    case NodeKind::Number:
    case NodeKind::Symbol: break;
    case NodeKind::Access:
    case NodeKind::Call: {
      std::vector<Expr> ops;
      for (const Expr &c : e.ops()) ops.push_back(expand_memo(c, memo));
      r = rebuild(e, std::move(ops));
      break;
    }
    case NodeKind::Add: {
      std::vector<Expr> ops;
      for (const Expr &c : e.ops()) ops.push_back(expand_memo(c, memo));
      r = add(std::move(ops));
      break;
    }
    case NodeKind::Mul: {
      std::vector<Expr> ops;
      for (const Expr &c : e.ops()) ops.push_back(expand_memo(c, memo));
      r = expand_product(ops);
      break;
    }
    case NodeKind::Pow: {
      Expr b = expand_memo(e.ops()[0], memo);
      const Expr &x = e.ops()[1];
      if (b.kind() == NodeKind::Add && x.is_exact() && x.rational().is_integer() && x.rational().num > 1 &&
          x.rational().num <= 16) {
        r = expand_product(std::vector<Expr>(static_cast<std::size_t>(x.rational().num), b));
      } else {
        r = pow(b, expand_memo(x, memo));
      }
      break;
    }
  }
  memo.emplace(e, r);
  return r;
}

}  // namespace

Expr rewrite(const Expr &e, const std::function<Expr(const Expr &)> &f) {
  ExprMap memo;
  return rewrite_memo(e, f, memo);
}

Expr substitute(const Expr &e, const ExprMap &replacements) {
  if (replacements.empty()) return e;
  ExprMap memo;
  std::function<Expr(const Expr &)> go = [&](const Expr &x) -> Expr {
    auto r = replacements.find(x);
    if (r != replacements.end()) return r->second;
    auto m = memo.find(x);
    if (m != memo.end()) return m->second;
    std::vector<Expr> ops;
    bool changed = false;
    for (const Expr &c : x.ops()) {
      ops.push_back(go(c));
      changed |= ops.back() != c;
    }
    Expr out = changed ? rebuild(x, std::move(ops)) : x;
    memo.emplace(x, out);
    return out;
  };
  return go(e);
}

Expr expand(const Expr &e) {
  ExprMap memo;
  return expand_memo(e, memo);
}

Expr diff(const Expr &e, const Expr &var) {
  TENET_USER_CHECK(var.is_symbol() || var.is_access(), "can only differentiate with respect to a symbol or a field "
                   "access, not ", var.str());
  ExprMap memo;
  return diff_memo(e, var, memo);
}

std::pair<Expr, Expr> linear_coefficients(const Expr &e, const Expr &var) {
  Expr a = diff(e, var);
  TENET_USER_CHECK(!contains(a, var), "the expression is not linear in ", var.str(), ": ", e.str(),
                   " (its derivative still contains it)");
  TENET_USER_CHECK(!a.is_zero(), "the expression does not contain ", var.str(), ": ", e.str());
  Expr b = substitute(e, {{var, Expr(0)}});
  return {a, b};
}

std::vector<std::pair<std::int64_t, Expr>> collect(const Expr &e, const Expr &var) {
  Expr x = expand(e);
  std::vector<Expr> terms = x.kind() == NodeKind::Add ? x.ops() : std::vector<Expr>{x};
  std::vector<std::pair<std::int64_t, std::vector<Expr>>> groups;
  for (const Expr &t : terms) {
    std::int64_t k = 0;
    Expr rest = t;
    std::vector<Expr> fs = t.kind() == NodeKind::Mul ? t.ops() : std::vector<Expr>{t};
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const Expr &f = fs[i];
      if (f == var) k = 1;
      else if (f.kind() == NodeKind::Pow && f.ops()[0] == var && f.ops()[1].is_exact() &&
               f.ops()[1].rational().is_integer())
        k = f.ops()[1].rational().num;
      else continue;
      fs.erase(fs.begin() + static_cast<std::ptrdiff_t>(i));
      rest = mul(fs);
      break;
    }
    TENET_USER_CHECK(!contains(rest, var), "cannot collect ", var.str(), " in ", e.str(),
                     ": it occurs inside a function or a non-integer power");
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto &p) { return p.first == k; });
    if (g == groups.end()) groups.push_back({k, {rest}});
    else g->second.push_back(rest);
  }
  std::sort(groups.begin(), groups.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
  std::vector<std::pair<std::int64_t, Expr>> out;
  for (auto &[k, ts] : groups) out.emplace_back(k, add(ts));
  return out;
}

void visit(const Expr &e, const std::function<void(const Expr &)> &f) {
  std::unordered_set<const Node *> seen;
  std::function<void(const Expr &)> go = [&](const Expr &x) {
    if (!seen.insert(x.get()).second) return;
    f(x);
    for (const Expr &c : x.ops()) go(c);
  };
  go(e);
}

bool contains(const Expr &e, const Expr &var) {
  bool found = false;
  visit(e, [&](const Expr &x) { found |= x == var; });
  return found;
}

std::vector<Expr> accesses(const Expr &e) {
  std::vector<Expr> out;
  visit(e, [&](const Expr &x) {
    if (x.is_access()) out.push_back(x);
  });
  return out;
}

std::vector<Expr> symbols(const Expr &e) {
  std::vector<Expr> out;
  visit(e, [&](const Expr &x) {
    if (x.is_symbol()) out.push_back(x);
  });
  return out;
}

}  // namespace tenet
