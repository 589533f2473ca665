// User mistakes in gradient computations give a tenet::Error that says what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "../ad/AdTestUtil.h"
#include "GradientTestUtil.h"
#include "ad/Differentiate.h"
#include "checkpoint/MemoryStorage.h"
#include "fd/Derivatives.h"
#include "seismic/Gradient.h"
#include "support/Error.h"

namespace tenet {
namespace {

// Runs `f`, expects a tenet::Error whose message contains `part`.
template <class F>
void expect_error(F f, const std::string &part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << part << "'";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "message: " << e.what();
  }
}

class GradientErrors : public ::testing::Test {
 protected:
  void SetUp() override { shot = test::make_shot(DType::Float64, {12, 10}, 4, 40.0); }
  test::Shot shot;
};

TEST_F(GradientErrors, ObservedDataOfTheWrongShape) {
  GradientProblem p = gradient_problem(*shot.problem);
  std::vector<double> d = shot.observed;
  d.pop_back();
  expect_error([&] { compute_gradient(p, d); }, "observed data has");
  GradientOptions o;
  o.strategy = GradientStrategy::Revolve;
  o.snapshots = 2;
  expect_error([&] { compute_gradient(p, std::vector<double>(3, 0.0), o); }, "nt x npoint");
}

TEST_F(GradientErrors, NonFiniteObservedData) {
  GradientProblem p = gradient_problem(*shot.problem);
  std::vector<double> d = shot.observed;
  d[5] = std::numeric_limits<double>::quiet_NaN();
  expect_error([&] { compute_gradient(p, d); }, "not finite");
}

// Finite data too large for the adjoint's type or the squared misfit (was an infinite misfit and
// an infinite gradient, no error), and a forward that blew up (NaN data seeded the adjoint).
TEST_F(GradientErrors, ResidualsBeyondRangeAndBlownUpForwards) {
  GradientProblem p = gradient_problem(*shot.problem);
  std::vector<double> d = shot.observed;
  d[d.size() / 2] = 1e200;
  expect_error([&] { compute_gradient(p, d); }, "rescale the observed data");
  GradientOptions o;
  o.strategy = GradientStrategy::Revolve;
  o.snapshots = 2;
  expect_error([&] { compute_gradient(p, d, o); }, "rescale the observed data");
  // The same error inside a reverse window (checkpoints by reference): the storage is left
  // holding nothing, the window's own slot included.
  {
    MemoryStorage memory;
    GradientOptions w;
    w.strategy = GradientStrategy::Revolve;
    w.snapshots = 6;
    w.memory_storage = &memory;
    FwiGradient g(p, w);
    expect_error([&] { g.compute(d); }, "rescale the observed data");
    EXPECT_EQ(memory.bytes_in_use(), 0u);
    EXPECT_EQ(memory.slots_in_use(), 0u);
    const GradientResult r = g.compute(shot.observed);
    EXPECT_GT(r.stats.reverse_windows, 0);
  }
  test::Shot single = test::make_shot(DType::Float32, {12, 10}, 4, 40.0);
  std::vector<double> d32 = single.observed;
  d32[d32.size() / 2] = 1e39;  // finite in double, infinite in float32
  expect_error([&] { compute_gradient(gradient_problem(*single.problem), d32); }, "float32 adjoint");
  d32[d32.size() / 2] = 1e30;  // within float32: accepted
  EXPECT_NO_THROW(compute_gradient(gradient_problem(*single.problem), d32));
  // Squared slowness 1e-12 (10^6 km/s) on a time step chosen for the real model: unstable.
  Function &m = shot.problem->m();
  m.set_data(std::vector<double>(m.get_data().size(), 1e-12));
  expect_error([&] { compute_gradient(gradient_problem(*shot.problem), shot.observed); }, "blew up");
}

// A checkpointed adjoint whose state leaves out a field the forward writes: restoring a
// checkpoint would leave that field at its latest value, so the recomputed steps would differ.
TEST(GradientStateErrors, AFieldTheForwardWritesMustBePartOfTheState) {
  Grid g({13, 11}, {120.0, 100.0}, DType::Float64);
  TimeFunctionOptions to;
  to.time_order = 1;
  TimeFunction p("p", g, 2, to), vx("vx", g, 2, to), vy("vy", g, 2, to);
  Function b("b", g, 2), k("k", g, 2);
  b.fill(1.0);
  k.fill(2.0);
  std::vector<Eq> eqs = test::staggered_acoustic(p, vx, vy, b, k, 2);
  Operator fwd(eqs);
  DiffRequest req;
  req.parameters = {k.data()};
  DerivativeOperator adj = adjoint(eqs, req);
  ApplyArgs args;
  args.scalars["dt"] = 1.0;
  expect_error([&] { OperatorCheckpointable c(fwd, adj, {p.data(), vx.data()}, 0, 5, args); },
               "writes 'vy' but it is not part of the state");
  EXPECT_NO_THROW(OperatorCheckpointable(fwd, adj, {p.data(), vx.data(), vy.data()}, 0, 5, args));
  // An adjoint built from the same equations on other fields of the same names (another
  // problem's): it would reverse that problem, not this one.
  Function k2("k", g, 2);
  k2.fill(2.0);
  std::vector<Eq> other = eqs;
  other[2] = Eq(p.forward(), p() - g.dt() * Expr(k2) * (dx(vx.forward(), 2, Side::StaggeredBackward) +
                                                     dy(vy.forward(), 2, Side::StaggeredBackward)), "p");
  DiffRequest req2;
  req2.parameters = {k2.data()};
  DerivativeOperator adj2 = adjoint(other, req2);
  expect_error([&] { OperatorCheckpointable c(fwd, adj2, {p.data(), vx.data(), vy.data()}, 0, 5, args); },
               "not the forward's field of that name");
}

TEST_F(GradientErrors, CheckpointingWithoutSnapshotsOrBudget) {
  GradientProblem p = gradient_problem(*shot.problem);
  GradientOptions o;
  o.strategy = GradientStrategy::Revolve;
  expect_error([&] { FwiGradient g(p, o); }, "at least one snapshot");
  o.memory_bytes = 100;  // less than one state
  expect_error([&] { FwiGradient g(p, o); }, "holds no checkpoint");
  o.memory_bytes = 0;
  o.strategy = GradientStrategy::TwoLevel;
  o.snapshots = 2;
  o.disk_snapshots = 2;
  expect_error([&] { FwiGradient g(p, o); }, "disk directory");
  o.strategy = GradientStrategy::Revolve;
  o.snapshots = 1;
  const std::size_t one = FwiGradient(p, o).state_bytes();
  o.strategy = GradientStrategy::StoreAll;
  o.snapshots = 0;
  o.memory_bytes = 3 * one;
  expect_error([&] { FwiGradient g(p, o); }, "store-all needs");
  // The full history (nt levels of u, about nt / 2 states) within a budget too (it was
  // allocated whatever the budget).
  o.strategy = GradientStrategy::FullHistory;
  expect_error([&] { FwiGradient g(p, o); }, "the full history takes");
  o.memory_bytes = static_cast<std::size_t>(shot.problem->nt()) * one;
  EXPECT_NO_THROW(FwiGradient(p, o));
}

TEST_F(GradientErrors, SnapshotsBeyondTheBudget) {
  GradientProblem p = gradient_problem(*shot.problem);
  GradientOptions o;
  o.strategy = GradientStrategy::Revolve;
  o.snapshots = 1;
  const std::size_t one = FwiGradient(p, o).state_bytes();
  o.snapshots = 5;
  o.memory_bytes = 2 * one;
  expect_error([&] { FwiGradient g(p, o); }, "do not fit");
}

TEST_F(GradientErrors, SavedHistoryCannotBeCheckpointed) {
  const std::vector<double> spacing{10.0, 10.0};
  AcousticOptions ao = test::shot_options(DType::Float64, 40.0);
  ao.save = 1000;
  AcousticProblem saved(layered_model({12, 10}, spacing, 4, 3, 0.0), ao);
  GradientOptions o;
  o.strategy = GradientStrategy::Revolve;
  o.snapshots = 3;
  std::vector<double> d(static_cast<std::size_t>(saved.nt() * saved.rec().npoint()), 0.0);
  expect_error([&] { compute_gradient(saved, d, o); }, "whole history");
  // The full-history strategy uses the saved field as it is.
  const GradientResult r = compute_gradient(saved, d, GradientOptions{});
  double expected = 0;
  for (double v : saved.rec().get_data()) expected += 0.5 * v * v;
  EXPECT_GT(expected, 0.0);
  EXPECT_NEAR(r.misfit, expected, 1e-13 * expected);
}

TEST_F(GradientErrors, IncompleteProblems) {
  AcousticProblem &a = *shot.problem;
  GradientProblem p = gradient_problem(a);
  p.state.clear();
  expect_error([&] { compute_gradient(p, shot.observed); }, "name the TimeFunction");

  p = gradient_problem(a);
  p.receivers = a.src().data();
  expect_error([&] { compute_gradient(p, shot.observed); }, "no equation interpolates");

  p = gradient_problem(a);
  p.time_M = p.time_m - 1;
  expect_error([&] { compute_gradient(p, shot.observed); }, "is empty");

  p = gradient_problem(a);
  Function other("other", a.grid(), 4);
  p.parameter = other.data();
  expect_error([&] { compute_gradient(p, shot.observed); }, "does not read it");

  // A state field the forward does not use cannot be checkpointed.
  p = gradient_problem(a);
  TimeFunction v("v", a.grid(), 4);
  p.state = {v.data()};
  GradientOptions o;
  o.strategy = GradientStrategy::Revolve;
  o.snapshots = 2;
  expect_error([&] { compute_gradient(p, shot.observed, o); }, "'v' is not used by the forward operator");
  p.state = {a.u().data(), v.data()};  // an extra field (was an internal error)
  expect_error([&] { compute_gradient(p, shot.observed, o); }, "'v' is not used by the forward operator");

  expect_error([] { parse_strategy("binomial"); }, "unknown gradient strategy");
}

// The adjoint reads u at every step it reverses: over several steps a cycling u (three
// buffers) gives a wrong gradient (relative error 0.5-1.4 against finite differences), so
// DerivativeOperator::apply refuses; one step per call, as the checkpointing runtime runs it,
// stays allowed.
TEST_F(GradientErrors, MultiStepAdjointOfACyclingForwardFieldIsRefused) {
  AcousticProblem &p = *shot.problem;
  DiffRequest req;
  req.parameters = {p.m().data()};
  DerivativeOperator adj = adjoint(p.equations(), req);
  ApplyArgs a;
  a.scalars["dt"] = p.dt();
  a.time_m = 1;
  a.time_M = p.nt() - 2;
  expect_error([&] { adj.apply(a); }, "save = nt");
  a.time_M = 1;
  adj.apply(a);
}

// A parameter is a field, not a name: another Function called "m" is not the one the
// equations read (its gradient was silently all zeros).
TEST_F(GradientErrors, ParameterOfTheSameNameButAnotherField) {
  AcousticProblem &p = *shot.problem;
  Function other("m", p.m().grid(), 4);
  DiffRequest req;
  req.parameters = {other.data()};
  expect_error([&] { adjoint(p.equations(), req); }, "not this one");
  GradientProblem gp = gradient_problem(p);
  gp.parameter = p.u().data();  // the state itself
  expect_error([&] { compute_gradient(gp, shot.observed); }, "state field");
}

// A field given at apply() reaches the prepare operator too (the level-scatter adjoint's
// reciprocal coefficients): overriding m by 2 m gives what setting m to 2 m gives.
TEST_F(GradientErrors, OverridesReachThePrepareOperator) {
  const std::vector<double> spacing{10.0, 10.0};
  AcousticOptions o = test::shot_options(DType::Float64, 40.0);
  const VelocityModel model = layered_model({12, 10}, spacing, 4, 3, 0.5);
  o.save = AcousticProblem(model, o).nt();  // every level, as a multi-step adjoint needs
  AcousticProblem p(model, o);
  DiffRequest req;
  req.parameters = {p.m().data()};
  req.time_gather = false;  // the form with a prepare operator
  DerivativeOperator adj = adjoint(p.equations(), req);
  ASSERT_TRUE(adj.prepare != nullptr);
  const std::vector<double> m = p.m().get_data();
  std::vector<double> m2 = m;
  for (double &v : m2) v *= 2;
  auto run = [&](bool override_m) {
    for (const auto &[name, f] : adj.fields) {
      if (f->kind == FieldKind::Sparse)
        SparseTimeFunction::from_data(f).set_data(std::vector<double>(static_cast<std::size_t>(f->nt * f->npoint), 0.0));
      else
        Function::from_data(f).fill(0.0);
    }
    const FieldData &rec = *adj.of("rec");
    SparseTimeFunction::from_data(adj.of("rec")).set_data(std::vector<double>(static_cast<std::size_t>(rec.nt * rec.npoint), 1.0));
    Function doubled("m_doubled", p.m().grid(), 4);
    doubled.set_data(m2);
    p.m().set_data(m2);  // the forward in the doubled model either way
    p.u().fill(0.0);
    p.forward();
    p.m().set_data(override_m ? m : m2);
    ApplyArgs a;
    a.scalars["dt"] = p.dt();
    a.time_m = 1;
    a.time_M = p.nt() - 2;
    if (override_m) a.fields["m"] = doubled.data();
    adj.apply(a);
    p.m().set_data(m);
    return Function::from_data(adj.of("m")).get_data();
  };
  const std::vector<double> overridden = run(true), set = run(false);
  EXPECT_EQ(overridden, set);
  double peak = 0;
  for (double v : set) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.0);
}

// Scalars go to the operators that read them; one that none reads is a typo, not a no-op.
TEST_F(GradientErrors, UnknownScalarIsNamed) {
  GradientProblem gp = gradient_problem(*shot.problem);
  gp.scalars["dtt"] = 1.0;
  expect_error([&] { compute_gradient(gp, shot.observed); }, "unknown scalar 'dtt'");
}

}  // namespace
}  // namespace tenet
