#include "symbolic/Expr.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "support/Error.h"

namespace tenet {
namespace {

std::atomic<std::uint64_t> next_id{1};

std::size_t mix(std::size_t h, std::size_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

// ---- Interning ----

bool shallow_equal(const Node &a, const Node &b) {
  if (a.kind != b.kind || a.ops.size() != b.ops.size()) return false;
  for (std::size_t i = 0; i < a.ops.size(); ++i)
    if (a.ops[i] != b.ops[i]) return false;
  switch (a.kind) {
    case NodeKind::Number:
      return a.exact == b.exact &&
             (a.exact ? a.q == b.q
                      : std::bit_cast<std::uint64_t>(a.value) == std::bit_cast<std::uint64_t>(b.value));
    case NodeKind::Symbol: return a.id == b.id;
    case NodeKind::Access: return a.field == b.field;
    case NodeKind::Call: return a.fn == b.fn;
    case NodeKind::Pow:
    case NodeKind::Mul:
    case NodeKind::Add: return true;
  }
  return false;
}

std::size_t node_hash(const Node &n) {
  std::size_t h = std::hash<int>()(static_cast<int>(n.kind));
  switch (n.kind) {
    case NodeKind::Number:
      h = mix(h, n.exact ? mix(std::hash<std::int64_t>()(n.q.num), std::hash<std::int64_t>()(n.q.den))
                         : std::hash<std::uint64_t>()(std::bit_cast<std::uint64_t>(n.value)));
      break;
    case NodeKind::Symbol: h = mix(h, std::hash<std::uint64_t>()(n.id)); break;
    case NodeKind::Access: h = mix(h, std::hash<std::uint64_t>()(n.field->id())); break;
    case NodeKind::Call: h = mix(h, static_cast<std::size_t>(n.fn)); break;
    case NodeKind::Pow:
    case NodeKind::Mul:
    case NodeKind::Add: break;
  }
  for (const Expr &c : n.ops) h = mix(h, c.hash());
  return h;
}

class InternTable {
 public:
  Expr intern(Node &&n) {
    n.hash = node_hash(n);
    std::lock_guard<std::mutex> lock(mutex_);
    auto range = map_.equal_range(n.hash);
    for (auto it = range.first; it != range.second; ++it) {
      if (auto live = it->second.lock()) {
        if (shallow_equal(*live, n)) return Expr(std::move(live));
      }
    }
    auto node = std::make_shared<const Node>(std::move(n));
    map_.emplace(node->hash, node);
    if (++inserts_ % 8192 == 0) sweep();
    return Expr(std::move(node));
  }

  std::size_t live_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    sweep();
    return map_.size();
  }

 private:
  void sweep() {
    for (auto it = map_.begin(); it != map_.end();) it = it->second.expired() ? map_.erase(it) : std::next(it);
  }

  std::mutex mutex_;
  std::unordered_multimap<std::size_t, std::weak_ptr<const Node>> map_;
  std::size_t inserts_ = 0;
};

// Deliberately never destroyed: expressions may outlive static destruction order.
InternTable &table() {
  static InternTable *t = new InternTable;
  return *t;
}

// ---- Numeric coefficients (exact when possible, double otherwise) ----

struct Coef {
  bool exact = true;
  Rational q{0};
  double f = 0.0;

  static Coef of(const Expr &e) {
    Coef c;
    c.exact = e->exact;
    c.q = e->q;
    c.f = e->value;
    return c;
  }
  double value() const { return exact ? q.to_double() : f; }
  Expr expr() const { return exact ? number(q) : number(f); }
  bool is_zero() const { return exact ? q.is_zero() : f == 0.0; }
  bool is_one() const { return exact ? q.is_one() : f == 1.0; }
};

Coef coef_add(const Coef &a, const Coef &b) {
  Coef r;
  if (a.exact && b.exact) {
    if (auto s = add(a.q, b.q)) {
      r.q = *s;
      return r;
    }
  }
  r.exact = false;
  r.f = a.value() + b.value();
  return r;
}

Coef coef_mul(const Coef &a, const Coef &b) {
  Coef r;
  if (a.exact && b.exact) {
    if (auto s = mul(a.q, b.q)) {
      r.q = *s;
      return r;
    }
  }
  r.exact = false;
  r.f = a.value() * b.value();
  return r;
}

Coef coef_one() {
  Coef c;
  c.q = Rational(1);
  return c;
}

int kind_rank(NodeKind k) { return static_cast<int>(k); }

int compare_ops(const std::vector<Expr> &a, const std::vector<Expr> &b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (int c = compare(a[i], b[i])) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

Expr make_node(NodeKind kind, std::vector<Expr> ops) {
  Node n;
  n.kind = kind;
  n.ops = std::move(ops);
  return table().intern(std::move(n));
}

// Splits a term into numeric coefficient and the rest: 3*x*y -> (3, x*y).
std::pair<Coef, Expr> split_coefficient(const Expr &t) {
  if (t.kind() == NodeKind::Mul && t.ops()[0].is_number()) {
    const auto &ops = t.ops();
    std::vector<Expr> rest(ops.begin() + 1, ops.end());
    return {Coef::of(ops[0]), rest.size() == 1 ? rest[0] : make_node(NodeKind::Mul, std::move(rest))};
  }
  return {coef_one(), t};
}

// Splits a factor into base and exponent: x^2 -> (x, 2), x -> (x, 1).
std::pair<Expr, Expr> split_power(const Expr &f) {
  if (f.kind() == NodeKind::Pow) return {f.ops()[0], f.ops()[1]};
  return {f, Expr(1)};
}

bool is_integer_number(const Expr &e) { return e.is_number() && e->exact && e->q.is_integer(); }

std::string format_double(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

// ---- Printing ----

int precedence(const Expr &e) {
  switch (e.kind()) {
    case NodeKind::Add: return 1;
    case NodeKind::Mul: return 2;
    case NodeKind::Pow: return 3;
    case NodeKind::Number:
      if (e->exact ? (e->q.num < 0 || !e->q.is_integer()) : e->value < 0) return 2;
      return 4;
    case NodeKind::Symbol:
    case NodeKind::Access:
    case NodeKind::Call: return 4;
  }
  return 4;
}

std::string print(const Expr &e);

std::string paren(const Expr &e, int min_prec) {
  std::string s = print(e);
  return precedence(e) < min_prec ? "(" + s + ")" : s;
}

std::string print_mul_abs(const Expr &e, bool &negative) {
  // Prints |e| for a Mul (or other), setting negative when its coefficient is negative.
  negative = false;
  std::vector<Expr> num, den;
  Coef c = coef_one();
  std::vector<Expr> factors;
  if (e.kind() == NodeKind::Mul) {
    auto [cc, rest] = split_coefficient(e);
    c = cc;
    factors = rest.kind() == NodeKind::Mul ? rest.ops() : std::vector<Expr>{rest};
  } else if (e.is_number()) {
    c = Coef::of(e);
  } else {
    factors = {e};
  }
  for (const Expr &f : factors) {
    auto [b, x] = split_power(f);
    if (x.is_number() && x.number_value() < 0) den.push_back(pow(b, -x));
    else num.push_back(f);
  }
  if (c.value() < 0) {
    negative = true;
    c = coef_mul(c, Coef::of(Expr(-1)));
  }
  std::string s;
  if (!c.is_one() || num.empty()) {
    if (c.exact && !c.q.is_integer() && !num.empty()) {
      // 3/2*x reads better as 3*x/2
      if (c.q.num != 1) s = std::to_string(c.q.num);
      den.insert(den.begin(), Expr(static_cast<std::int64_t>(c.q.den)));
    } else {
      s = c.exact ? c.q.str() : format_double(c.f);
    }
  }
  for (const Expr &f : num) {
    if (!s.empty()) s += "*";
    s += paren(f, 3);
  }
  if (!den.empty()) {
    std::string d;
    for (const Expr &f : den) d += (d.empty() ? "" : "*") + paren(f, 3);
    s += "/" + (den.size() > 1 ? "(" + d + ")" : d);
  }
  return s;
}

std::string print(const Expr &e) {
  if (!e.defined()) return "<undefined>";
  switch (e.kind()) {
    case NodeKind::Number: return e->exact ? e->q.str() : format_double(e->value);
    case NodeKind::Symbol: return e->name;
    case NodeKind::Access: {
      std::string s = e->field->name() + "[";
      for (std::size_t i = 0; i < e.ops().size(); ++i) s += (i ? ", " : "") + print(e.ops()[i]);
      return s + "]";
    }
    case NodeKind::Call: {
      std::string s = std::string(fn_name(e->fn)) + "(";
      for (std::size_t i = 0; i < e.ops().size(); ++i) s += (i ? ", " : "") + print(e.ops()[i]);
      return s + ")";
    }
    case NodeKind::Pow: {
      const Expr &x = e.ops()[1];
      if (x.is_number() && x.number_value() < 0) {
        bool neg;
        return print_mul_abs(e, neg);
      }
      return paren(e.ops()[0], 4) + "^" + paren(x, 4);
    }
    case NodeKind::Mul: {
      bool neg;
      std::string s = print_mul_abs(e, neg);
      return neg ? "-" + s : s;
    }
    case NodeKind::Add: {
      // Constant last: `t + 1` rather than `1 + t`.
      std::vector<Expr> terms = e.ops();
      if (terms[0].is_number()) std::rotate(terms.begin(), terms.begin() + 1, terms.end());
      std::string s;
      for (std::size_t i = 0; i < terms.size(); ++i) {
        bool neg;
        std::string t = print_mul_abs(terms[i], neg);
        if (terms[i].kind() == NodeKind::Add) t = "(" + t + ")";
        if (i == 0) s = neg ? "-" + t : t;
        else s += (neg ? " - " : " + ") + t;
      }
      return s;
    }
  }
  return "?";
}

}  // namespace

const char *fn_name(Fn f) {
  switch (f) {
    case Fn::Sqrt: return "sqrt";
    case Fn::Exp: return "exp";
    case Fn::Log: return "log";
    case Fn::Sin: return "sin";
    case Fn::Cos: return "cos";
    case Fn::Abs: return "abs";
    case Fn::Min: return "min";
    case Fn::Max: return "max";
    case Fn::Floor: return "floor";
    case Fn::Mod: return "mod";
  }
  return "?";
}

FieldBase::FieldBase(std::string name) : id_(next_id.fetch_add(1)), name_(std::move(name)) {}

// ---- Expr ----

Expr::Expr(double v) : Expr(number(v)) {}
Expr::Expr(int v) : Expr(number(Rational(v))) {}
Expr::Expr(std::int64_t v) : Expr(number(Rational(v))) {}

NodeKind Expr::kind() const {
  TENET_INTERNAL_CHECK(defined(), "use of an undefined expression");
  return n_->kind;
}
std::size_t Expr::hash() const { return n_ ? n_->hash : 0; }
bool Expr::is_exact() const { return is_number() && n_->exact; }
bool Expr::is_zero() const { return is_number() && (n_->exact ? n_->q.is_zero() : n_->value == 0.0); }
bool Expr::is_one() const { return is_number() && (n_->exact ? n_->q.is_one() : n_->value == 1.0); }
double Expr::number_value() const {
  TENET_INTERNAL_CHECK(is_number(), "number_value of ", str());
  return n_->exact ? n_->q.to_double() : n_->value;
}
const Rational &Expr::rational() const {
  TENET_INTERNAL_CHECK(is_exact(), "rational of ", str());
  return n_->q;
}
const std::vector<Expr> &Expr::ops() const {
  TENET_INTERNAL_CHECK(defined(), "ops of an undefined expression");
  return n_->ops;
}
std::string Expr::str() const { return print(*this); }

// ---- Constructors ----

Expr number(const Rational &q) {
  Node n;
  n.kind = NodeKind::Number;
  n.exact = true;
  n.q = q;
  n.value = q.to_double();
  return table().intern(std::move(n));
}

Expr number(double v) {
  if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 4.0e18)
    return number(Rational(static_cast<std::int64_t>(v)));
  Node n;
  n.kind = NodeKind::Number;
  n.exact = false;
  n.value = v;
  return table().intern(std::move(n));
}

Expr rational(std::int64_t num, std::int64_t den) {
  auto q = Rational::make(num, den);
  TENET_USER_CHECK(q.has_value(), "rational ", num, "/", den, " has a zero denominator");
  return number(*q);
}

Expr symbol(const std::string &name, SymbolKind kind) {
  Node n;
  n.kind = NodeKind::Symbol;
  n.id = next_id.fetch_add(1);
  n.name = name;
  n.symbol_kind = kind;
  return table().intern(std::move(n));
}

Expr scalar_with_default(const std::string &name, std::shared_ptr<const double> value) {
  Node n;
  n.kind = NodeKind::Symbol;
  n.id = next_id.fetch_add(1);
  n.name = name;
  n.symbol_kind = SymbolKind::Scalar;
  n.default_value = std::move(value);
  return table().intern(std::move(n));
}

Expr access(std::shared_ptr<const FieldBase> field, std::vector<Expr> indices) {
  TENET_INTERNAL_CHECK(field != nullptr, "access to a null field");
  Node n;
  n.kind = NodeKind::Access;
  n.field = std::move(field);
  n.ops = std::move(indices);
  return table().intern(std::move(n));
}

Expr add(std::vector<Expr> terms) {
  std::vector<Expr> flat;
  flat.reserve(terms.size());
  for (Expr &t : terms) {
    TENET_INTERNAL_CHECK(t.defined(), "add of an undefined expression");
    if (t.kind() == NodeKind::Add) flat.insert(flat.end(), t.ops().begin(), t.ops().end());
    else flat.push_back(std::move(t));
  }
  Coef constant;
  std::vector<std::pair<Expr, Coef>> collected;
  std::unordered_map<const Node *, std::size_t> where;
  for (const Expr &t : flat) {
    if (t.is_number()) {
      constant = coef_add(constant, Coef::of(t));
      continue;
    }
    auto [c, rest] = split_coefficient(t);
    auto it = where.find(rest.get());
    if (it == where.end()) {
      where.emplace(rest.get(), collected.size());
      collected.emplace_back(rest, c);
    } else {
      collected[it->second].second = coef_add(collected[it->second].second, c);
    }
  }
  std::erase_if(collected, [](const auto &p) { return p.second.is_zero(); });
  std::sort(collected.begin(), collected.end(),
            [](const auto &a, const auto &b) { return compare(a.first, b.first) < 0; });
  std::vector<Expr> out;
  if (!constant.is_zero()) out.push_back(constant.expr());
  for (auto &[rest, c] : collected) out.push_back(c.is_one() ? rest : mul({c.expr(), rest}));
  if (out.empty()) return Expr(0);
  if (out.size() == 1) return out[0];
  return make_node(NodeKind::Add, std::move(out));
}

Expr mul(std::vector<Expr> factors) {
  std::vector<Expr> flat;
  flat.reserve(factors.size());
  for (Expr &f : factors) {
    TENET_INTERNAL_CHECK(f.defined(), "mul of an undefined expression");
    if (f.kind() == NodeKind::Mul) flat.insert(flat.end(), f.ops().begin(), f.ops().end());
    else flat.push_back(std::move(f));
  }
  Coef c = coef_one();
  std::vector<std::pair<Expr, std::vector<Expr>>> powers;  // base -> exponents
  std::unordered_map<const Node *, std::size_t> where;
  for (const Expr &f : flat) {
    if (f.is_number()) {
      c = coef_mul(c, Coef::of(f));
      continue;
    }
    auto [base, x] = split_power(f);
    auto it = where.find(base.get());
    if (it == where.end()) {
      where.emplace(base.get(), powers.size());
      powers.push_back({base, {x}});
    } else {
      powers[it->second].second.push_back(x);
    }
  }
  if (c.is_zero()) return Expr(0);
  std::vector<Expr> out;
  for (auto &[base, xs] : powers) {
    Expr p = xs.size() == 1 ? (xs[0].is_one() ? base : pow(base, xs[0])) : pow(base, add(xs));
    if (p.is_number()) c = coef_mul(c, Coef::of(p));
    else if (p.kind() == NodeKind::Mul) {
      // pow may distribute over a product or produce a coefficient: fold it in again.
      for (const Expr &g : p.ops()) {
        if (g.is_number()) c = coef_mul(c, Coef::of(g));
        else out.push_back(g);
      }
    } else {
      out.push_back(p);
    }
  }
  if (c.is_zero()) return Expr(0);
  std::sort(out.begin(), out.end(), [](const Expr &a, const Expr &b) { return compare(a, b) < 0; });
  if (out.empty()) return c.expr();
  if (!c.is_one()) out.insert(out.begin(), c.expr());
  if (out.size() == 1) return out[0];
  return make_node(NodeKind::Mul, std::move(out));
}

Expr pow(const Expr &base, const Expr &x) {
  if (x.is_zero()) return Expr(1);
  if (x.is_one()) return base;
  if (base.is_one()) return Expr(1);
  if (base.is_number() && x.is_number()) {
    TENET_USER_CHECK(!(base.is_zero() && x.number_value() < 0), "division by zero in an expression");
    if (base.is_exact() && is_integer_number(x)) {
      if (auto r = pow(base.rational(), x.rational().num)) return number(*r);
    }
    return number(std::pow(base.number_value(), x.number_value()));
  }
  if (is_integer_number(x)) {
    if (base.kind() == NodeKind::Pow) return pow(base.ops()[0], mul({base.ops()[1], x}));
    if (base.kind() == NodeKind::Mul) {
      std::vector<Expr> fs;
      for (const Expr &f : base.ops()) fs.push_back(pow(f, x));
      return mul(std::move(fs));
    }
  }
  return make_node(NodeKind::Pow, {base, x});
}

Expr call(Fn fn, std::vector<Expr> args) {
  const std::size_t arity = (fn == Fn::Min || fn == Fn::Max || fn == Fn::Mod) ? 2 : 1;
  TENET_INTERNAL_CHECK(args.size() == arity, fn_name(fn), " takes ", arity, " arguments");
  bool numeric = std::all_of(args.begin(), args.end(), [](const Expr &a) { return a.is_number(); });
  if (numeric) {
    double a = args[0].number_value();
    switch (fn) {
      case Fn::Sqrt:
        TENET_USER_CHECK(a >= 0, "sqrt of the negative number ", a);
        return number(std::sqrt(a));
      case Fn::Exp: return number(std::exp(a));
      case Fn::Log:
        TENET_USER_CHECK(a > 0, "log of the non-positive number ", a);
        return number(std::log(a));
      case Fn::Sin: return number(std::sin(a));
      case Fn::Cos: return number(std::cos(a));
      case Fn::Abs: return a < 0 ? -args[0] : args[0];
      case Fn::Min: return a <= args[1].number_value() ? args[0] : args[1];
      case Fn::Max: return a >= args[1].number_value() ? args[0] : args[1];
      case Fn::Floor: return number(std::floor(a));
      case Fn::Mod: return number(std::fmod(a, args[1].number_value()));
    }
  }
  if (fn == Fn::Min || fn == Fn::Max) {
    if (args[0] == args[1]) return args[0];
    if (compare(args[0], args[1]) > 0) std::swap(args[0], args[1]);
  }
  Node n;
  n.kind = NodeKind::Call;
  n.fn = fn;
  n.ops = std::move(args);
  return table().intern(std::move(n));
}

Expr operator+(const Expr &a, const Expr &b) { return add({a, b}); }
Expr operator-(const Expr &a, const Expr &b) { return add({a, mul({Expr(-1), b})}); }
Expr operator*(const Expr &a, const Expr &b) { return mul({a, b}); }
Expr operator/(const Expr &a, const Expr &b) {
  TENET_USER_CHECK(!b.is_zero(), "division by zero: ", a.str(), " / 0");
  return mul({a, pow(b, Expr(-1))});
}
Expr operator-(const Expr &a) { return mul({Expr(-1), a}); }
Expr &operator+=(Expr &a, const Expr &b) { return a = a + b; }
Expr &operator-=(Expr &a, const Expr &b) { return a = a - b; }
Expr &operator*=(Expr &a, const Expr &b) { return a = a * b; }

Expr sqrt(const Expr &a) { return call(Fn::Sqrt, {a}); }
Expr exp(const Expr &a) { return call(Fn::Exp, {a}); }
Expr log(const Expr &a) { return call(Fn::Log, {a}); }
Expr sin(const Expr &a) { return call(Fn::Sin, {a}); }
Expr cos(const Expr &a) { return call(Fn::Cos, {a}); }
Expr abs(const Expr &a) { return call(Fn::Abs, {a}); }
Expr min(const Expr &a, const Expr &b) { return call(Fn::Min, {a, b}); }
Expr max(const Expr &a, const Expr &b) { return call(Fn::Max, {a, b}); }
Expr floor(const Expr &a) { return call(Fn::Floor, {a}); }
Expr mod(const Expr &a, const Expr &b) { return call(Fn::Mod, {a, b}); }

int compare(const Expr &a, const Expr &b) {
  if (a == b) return 0;
  if (a.kind() != b.kind()) return kind_rank(a.kind()) < kind_rank(b.kind()) ? -1 : 1;
  switch (a.kind()) {
    case NodeKind::Number: {
      if (a->exact && b->exact) return compare(a->q, b->q);
      double x = a.number_value(), y = b.number_value();
      if (x != y) return x < y ? -1 : 1;
      if (a->exact != b->exact) return a->exact ? -1 : 1;
      auto bx = std::bit_cast<std::uint64_t>(x), by = std::bit_cast<std::uint64_t>(y);
      return bx < by ? -1 : (bx > by ? 1 : 0);
    }
    case NodeKind::Symbol:
      if (int c = a->name.compare(b->name)) return c < 0 ? -1 : 1;
      return a->id < b->id ? -1 : 1;
    case NodeKind::Access:
      if (a->field != b->field) {
        if (int c = a->field->name().compare(b->field->name())) return c < 0 ? -1 : 1;
        return a->field->id() < b->field->id() ? -1 : 1;
      }
      return compare_ops(a.ops(), b.ops());
    case NodeKind::Call:
      if (a->fn != b->fn) return a->fn < b->fn ? -1 : 1;
      return compare_ops(a.ops(), b.ops());
    case NodeKind::Pow:
    case NodeKind::Mul:
    case NodeKind::Add: return compare_ops(a.ops(), b.ops());
  }
  return 0;
}

std::size_t interned_node_count() { return table().live_count(); }

}  // namespace tenet
