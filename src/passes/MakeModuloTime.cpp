#include <map>

#include "passes/Passes.h"
#include "support/Error.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

class ModuloTime : public IRMutator {
 public:
  explicit ModuloTime(const Expr &t) : t_(t) {}
  std::vector<Stmt> defines;

  using IRMutator::mutate;
  Expr mutate(const Expr &e) override {
    return rewrite(e, [&](const Expr &x) -> Expr {
      if (!x.is_access()) return x;
      const FieldData *f = field_of(x);
      if (!f || f->kind != FieldKind::TimeFunction || f->saved) return x;
      Expr off = x.ops()[0] - t_;
      TENET_USER_CHECK(off.is_exact() && off.rational().is_integer(), "the time index of ", x.str(),
                       " must be t plus an integer constant");
      std::int64_t k = off.rational().num;
      std::vector<Expr> idx = x.ops();
      idx[0] = var_for(k, f->nbuf);
      return access(x->field, std::move(idx));
    });
  }

 private:
  Expr var_for(std::int64_t k, int nbuf) {
    auto key = std::make_pair(k, nbuf);
    auto it = vars_.find(key);
    if (it != vars_.end()) return it->second;
    std::string name = k == 0 ? "t0" : (k > 0 ? "tp" : "tm") + std::to_string(k > 0 ? k : -k);
    if (nbufs_seen(nbuf)) name += "_" + std::to_string(nbuf);
    Expr v = symbol(name, SymbolKind::Index);
    vars_.emplace(key, v);
    std::int64_t shift = ((k % nbuf) + nbuf) % nbuf;  // t >= 0, so (t + shift) % nbuf == (t + k) mod nbuf
    defines.push_back(make_comment(name + " = (t " + (k >= 0 ? "+ " : "- ") + std::to_string(k >= 0 ? k : -k) +
                                   ") mod " + std::to_string(nbuf)));
    defines.push_back(make_define(v, mod(t_ + Expr(shift), Expr(nbuf)), true));
    mods_.push_back(nbuf);
    return v;
  }
  // Names carry the buffer count only when fields with different counts coexist.
  bool nbufs_seen(int nbuf) const {
    for (int m : mods_)
      if (m != nbuf) return true;
    return false;
  }

  Expr t_;
  std::map<std::pair<std::int64_t, int>, Expr> vars_;
  std::vector<int> mods_;
};

}  // namespace

void make_modulo_time(Kernel &k) {
  if (!k.has_time) return;
  Expr t = k.grid->time_dim();
  // Rewrites inside the time loop and prepends the per-step definitions to its body.
  class Outer : public IRMutator {
   public:
    explicit Outer(const Expr &t) : t_(t) {}
    Stmt visit_For(const Stmt &s) override {
      if (s->for_kind != ForKind::Time) return IRMutator::visit_For(s);
      ModuloTime m(t_);
      Stmt b = m.mutate(s->body[0]);
      std::vector<Stmt> stmts = m.defines;
      stmts.push_back(b);
      return make_for(s->var, s->min, s->max, make_block(std::move(stmts)), s->for_kind, s->step, s->backward,
                      s->collapse);
    }
    Expr t_;
  } outer(t);
  k.body = outer.mutate(k.body);
}

}  // namespace tenet
