#include "symbolic/CPrinter.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "support/Error.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

// Integer powers up to this (and their reciprocals) are printed as products; others call
// sqrt (for 1/2) or pow.
constexpr std::int64_t kInlinePower = 4;

bool inline_power(const Expr &x) {
  return x.is_exact() && x.rational().is_integer() && x.rational().num != 0 &&
         std::abs(x.rational().num) <= kInlinePower;
}

class Printer {
 public:
  Printer(const CPrintOptions &o, bool integer) : o_(o), integer_(integer) {}

  // Precedence: 1 add, 2 mul, 4 atom.
  std::string print(const Expr &e, int &prec) {
    switch (e.kind()) {
      case NodeKind::Number: {
        double v = e.number_value();
        prec = v < 0 ? 1 : 4;
        if (integer_) {
          TENET_INTERNAL_CHECK(e.is_exact() && e.rational().is_integer(), "non-integer ", e.str(), " in an index");
          return std::to_string(e.rational().num);
        }
        return c_literal(v, o_.dtype);
      }
      case NodeKind::Symbol: prec = 4; return o_.symbol ? o_.symbol(e) : e->name;
      case NodeKind::Access:
        prec = 4;
        TENET_INTERNAL_CHECK(static_cast<bool>(o_.access), "no access printer for ", e.str());
        return o_.access(e);
      case NodeKind::Call: return print_call(e, prec);
      case NodeKind::Pow: return print_product({e}, prec);
      case NodeKind::Mul: return print_product(e.ops(), prec);
      case NodeKind::Add: return print_sum(e, prec);
    }
    return "";
  }

  std::string wrap(const Expr &e, int min_prec) {
    int p;
    std::string s = print(e, p);
    return p < min_prec ? "(" + s + ")" : s;
  }

 private:
  std::string fn(const char *base) const {
    return o_.dtype == DType::Float32 ? std::string(base) + "f" : std::string(base);
  }

  std::string print_call(const Expr &e, int &prec) {
    prec = 4;
    const auto &a = e.ops();
    if (integer_) {
      switch (e->fn) {
        case Fn::Min: return "MIN(" + wrap(a[0], 0) + ", " + wrap(a[1], 0) + ")";
        case Fn::Max: return "MAX(" + wrap(a[0], 0) + ", " + wrap(a[1], 0) + ")";
        case Fn::Mod: prec = 2; return wrap(a[0], 3) + " % " + wrap(a[1], 3);
        default: TENET_INTERNAL_CHECK(false, "function ", fn_name(e->fn), " in an index expression");
      }
    }
    switch (e->fn) {
      case Fn::Sqrt: return fn("sqrt") + "(" + wrap(a[0], 0) + ")";
      case Fn::Exp: return fn("exp") + "(" + wrap(a[0], 0) + ")";
      case Fn::Log: return fn("log") + "(" + wrap(a[0], 0) + ")";
      case Fn::Sin: return fn("sin") + "(" + wrap(a[0], 0) + ")";
      case Fn::Cos: return fn("cos") + "(" + wrap(a[0], 0) + ")";
      case Fn::Abs: return fn("fabs") + "(" + wrap(a[0], 0) + ")";
      case Fn::Min: return fn("fmin") + "(" + wrap(a[0], 0) + ", " + wrap(a[1], 0) + ")";
      case Fn::Max: return fn("fmax") + "(" + wrap(a[0], 0) + ", " + wrap(a[1], 0) + ")";
      case Fn::Floor: return fn("floor") + "(" + wrap(a[0], 0) + ")";
      case Fn::Mod: return fn("fmod") + "(" + wrap(a[0], 0) + ", " + wrap(a[1], 0) + ")";
    }
    return "";
  }

  // x^k for a small positive integer k as repeated multiplication.
  std::string power(const Expr &base, const Expr &x) {
    if (x.is_exact() && x.rational().is_integer()) {
      std::int64_t k = x.rational().num;
      if (k >= 1 && k <= kInlinePower) {
        std::string b = wrap(base, 4), s = b;
        for (std::int64_t i = 1; i < k; ++i) s += "*" + b;
        return s;
      }
    }
    TENET_INTERNAL_CHECK(!integer_, "power ", base.str(), "^", x.str(), " in an index");
    if (x.is_exact() && x.rational() == *Rational::make(1, 2)) return fn("sqrt") + "(" + wrap(base, 0) + ")";
    return fn("pow") + "(" + wrap(base, 0) + ", " + wrap(x, 0) + ")";
  }

  std::string print_product(const std::vector<Expr> &factors, int &prec) {
    std::string coeff;
    bool negative = false;
    std::vector<std::string> num, den;
    for (const Expr &f : factors) {
      if (f.is_number()) {
        double v = f.number_value();
        if (v < 0) {
          negative = true;
          v = -v;
        }
        if (v != 1.0) {
          if (integer_) coeff = std::to_string(static_cast<std::int64_t>(v));
          else coeff = c_literal(v, o_.dtype);
        }
        continue;
      }
      Expr base = f, x(1);
      if (f.kind() == NodeKind::Pow) {
        base = f.ops()[0];
        x = f.ops()[1];
      }
      if (x.is_number() && x.number_value() < 0) {
        TENET_INTERNAL_CHECK(!integer_, "division in an index expression: ", f.str());
        Expr px = -x;
        den.push_back(px.is_one() ? wrap(base, 4) : "(" + power(base, px) + ")");
      } else {
        num.push_back(x.is_one() ? wrap(base, 4) : power(base, x));
      }
    }
    std::string s = coeff;
    for (const std::string &n : num) {
      if (!s.empty()) s += '*';
      s += n;
    }
    if (s.empty()) s = integer_ ? "1" : c_literal(1.0, o_.dtype);
    if (!den.empty()) {
      std::string d;
      for (const std::string &x : den) {
        if (!d.empty()) d += '*';
        d += x;
      }
      s += '/';
      if (den.size() > 1) s += '(';
      s += d;
      if (den.size() > 1) s += ')';
    }
    prec = negative ? 1 : 2;
    if (negative) s.insert(s.begin(), '-');
    return s;
  }

  // A float sum of more than kChain terms is printed as contiguous groups of at most kChain
  // terms, added pairwise: C fixes the order of `a + b + c + ...` (no reassociation without
  // -ffast-math), so one long sum is one chain of dependent adds/FMAs whose latency, not the
  // arithmetic, bounds the loop. The adjoint of an order-16 3D stencil is a 49-term sum; as one
  // chain it ran at 0.62 Gpts/s, in groups of <= 9 at 0.85 (128^3, 2 threads). Sums of 9 or
  // fewer terms (a centred order-8 derivative) print as before.
  static constexpr std::size_t kChain = 9;

  std::string print_sum(const Expr &e, int &prec) {
    std::vector<Expr> terms = e.ops();
    if (terms[0].is_number()) {  // constant last
      Expr c = terms[0];
      terms.erase(terms.begin());
      terms.push_back(c);
    }
    prec = 1;
    if (integer_ || terms.size() <= kChain) return print_chain(terms, 0, terms.size());
    const std::size_t groups = (terms.size() + kChain - 1) / kChain;
    std::vector<std::string> parts;
    for (std::size_t g = 0, begin = 0; g < groups; ++g) {
      std::size_t end = begin + (terms.size() - begin) / (groups - g);  // near-equal sizes
      parts.push_back("(" + print_chain(terms, begin, end) + ")");
      begin = end;
    }
    while (parts.size() > 1) {  // balanced pairwise tree of the groups
      const bool outermost = parts.size() == 2;
      std::vector<std::string> next;
      for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
        std::string pair = parts[i] + " + " + parts[i + 1];
        next.push_back(outermost ? pair : "(" + pair + ")");
      }
      if (parts.size() % 2 == 1) next.push_back(parts.back());
      parts.swap(next);
    }
    return parts[0];
  }

  // terms[begin, end) as one left-to-right sum.
  std::string print_chain(const std::vector<Expr> &terms, std::size_t begin, std::size_t end) {
    std::string s;
    for (std::size_t i = begin; i < end; ++i) {
      int p;
      std::string t = print(terms[i], p);
      bool neg = !t.empty() && t[0] == '-' && p <= 2;
      if (neg && (terms[i].kind() == NodeKind::Mul || terms[i].is_number())) t = t.substr(1);
      else neg = false;
      if (i == begin) s = neg ? "-" + t : t;
      else s += (neg ? " - " : " + ") + t;
    }
    return s;
  }

  const CPrintOptions &o_;
  bool integer_;
};

}  // namespace

std::string c_literal(double v, DType dtype) {
  char buf[64];
  std::to_chars_result r;
  if (dtype == DType::Float32) r = std::to_chars(buf, buf + sizeof(buf), static_cast<float>(v));
  else r = std::to_chars(buf, buf + sizeof(buf), v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  if (s == "inf" || s == "-inf" || s == "nan" || s == "-nan")
    throw Error(internal::cat("the value ", s, " cannot appear as a constant in generated code"));
  return dtype == DType::Float32 ? s + "F" : s;
}

bool calls_errno_math(const Expr &e) {
  bool found = false;
  visit(e, [&](const Expr &y) {
    if (y.kind() == NodeKind::Call)
      found |= y->fn == Fn::Sqrt || y->fn == Fn::Exp || y->fn == Fn::Log || y->fn == Fn::Sin || y->fn == Fn::Cos;
    else if (y.kind() == NodeKind::Pow)
      found |= !inline_power(y.ops()[1]);
  });
  return found;
}

std::string print_c(const Expr &e, const CPrintOptions &opts) {
  Printer p(opts, false);
  return p.wrap(e, 0);
}

std::string print_c_index(const Expr &e, const CPrintOptions &opts) {
  Printer p(opts, true);
  return p.wrap(e, 0);
}

}  // namespace tenet
