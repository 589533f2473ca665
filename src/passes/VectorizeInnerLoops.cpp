#include "ir/VectorPlan.h"
#include "passes/Passes.h"

namespace tenet {
namespace {

class Vectorizer : public IRMutator {
 public:
  Vectorizer(const Kernel &k, int bytes) : k_(k), bytes_(bytes) {}

  Stmt visit_For(const Stmt &s) override {
    if (s->for_kind != ForKind::Simd) return IRMutator::visit_For(s);
    if (!plan_vector_loop(k_, s, bytes_)) return s;
    any = true;
    return make_for(s->var, s->min, s->max, s->body[0], ForKind::Vector, s->step, s->backward, s->collapse);
  }

  bool any = false;

 private:
  const Kernel &k_;
  int bytes_;
};

}  // namespace

void vectorize_inner_loops(Kernel &k, int vector_bytes) {
  Vectorizer v(k, vector_bytes);
  k.body = v.mutate(k.body);
  if (v.any) k.vector_bytes = vector_bytes;
}

}  // namespace tenet
