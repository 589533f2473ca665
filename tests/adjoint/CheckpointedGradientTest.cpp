// The checkpointed FWI gradient equals, bitwise, the gradient of the store-everything run, for
// every schedule (Revolve with several snapshot counts and a byte budget, two-level with disk,
// periodic), in float64 and float32; and equals the full-history (save = nt) gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <unistd.h>

#include "../ad/AdTestUtil.h"
#include "GradientTestUtil.h"
#include "checkpoint/MemoryStorage.h"

namespace tenet {
namespace {

using test::bitwise_equal;
using test::max_relative_gap;

class CheckpointedGradient : public ::testing::TestWithParam<DType> {
 protected:
  static std::string temp_dir() {
    auto d = std::filesystem::temp_directory_path() /
             ("tenet-gradient-test-" + std::to_string(::getpid()) + "-" + dtype_name(GetParam()));
    std::filesystem::create_directories(d);
    return d.string();
  }
};

TEST_P(CheckpointedGradient, EverySchedulesGivesTheStoreAllGradientBitwise) {
  test::Shot shot = test::make_shot(GetParam());
  const GradientProblem problem = gradient_problem(*shot.problem);
  GradientOptions ref_opts;
  ref_opts.strategy = GradientStrategy::StoreAll;
  ref_opts.checkpoints_by_reference = false;  // every save and load a copy
  const GradientResult ref = compute_gradient(problem, shot.observed, ref_opts);
  EXPECT_EQ(ref.stats.loads_in_place, 0);
  const int n = static_cast<int>(problem.time_M - problem.time_m + 1);
  ASSERT_GE(n, 30);
  ASSERT_GT(ref.misfit, 0.0);
  ASSERT_GT(test::norm(ref.gradient), 0.0);
  EXPECT_EQ(ref.stats.recomputed_steps, 0);

  struct Case {
    std::string what;
    GradientOptions opts;
  };
  std::vector<Case> cases;
  for (int s : {1, 2, 3, 5, 9}) {
    GradientOptions o;
    o.strategy = GradientStrategy::Revolve;
    o.snapshots = s;
    cases.push_back({"revolve S=" + std::to_string(s), o});
  }
  {
    GradientOptions o;
    o.strategy = GradientStrategy::Revolve;
    o.snapshots = 1;
    FwiGradient probe(problem, o);  // only to learn the state size
    o.snapshots = 0;
    o.memory_bytes = 4 * probe.state_bytes() + probe.state_bytes() / 2;  // 4 states fit
    cases.push_back({"revolve, budget of 4.5 states", o});
  }
  {
    GradientOptions o;
    o.strategy = GradientStrategy::TwoLevel;
    o.snapshots = 2;
    o.disk_snapshots = 3;
    o.write_cost = 1.0;
    o.read_cost = 1.0;
    o.disk_directory = temp_dir();
    cases.push_back({"two-level 2 memory + 3 disk", o});
  }
  {
    GradientOptions o;
    o.strategy = GradientStrategy::Periodic;
    o.snapshots = 16;
    cases.push_back({"periodic", o});
  }
  {
    GradientOptions o;
    o.strategy = GradientStrategy::Revolve;
    o.snapshots = 9;
    o.checkpoints_by_reference = false;
    cases.push_back({"revolve S=9, copies", o});
  }
  {
    GradientOptions o;
    o.strategy = GradientStrategy::StoreAll;
    cases.push_back({"store-all, by reference", o});
  }
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    FwiGradient g(problem, c.opts);
    const GradientResult r = g.compute(shot.observed);
    EXPECT_TRUE(bitwise_equal(r.gradient, ref.gradient)) << "max relative gap " << max_relative_gap(r.gradient, ref.gradient);
    EXPECT_EQ(r.misfit, ref.misfit);
    // The run did what the schedule predicted.
    EXPECT_EQ(r.stats.forward_steps, r.predicted.advanced_steps);
    EXPECT_EQ(r.stats.recomputed_steps, r.predicted.recomputed_steps);
    EXPECT_EQ(r.stats.reverse_steps, n);
    // The gradient summed by parts reads u[t] only, which state t holds: reverse steps run no
    // forward step except the last one, which no Advance reaches (its receiver samples seed the
    // residual).
    EXPECT_EQ(r.taped_steps, 1);
    EXPECT_EQ(r.stats.forward_steps + r.taped_steps, r.predicted.forward_evaluations);
    if (c.opts.strategy == GradientStrategy::Revolve && c.opts.snapshots > 0 && c.opts.snapshots < n - 1) {
      EXPECT_GT(r.stats.recomputed_steps, 0);
      EXPECT_EQ(r.predicted.advanced_steps, internal::revolve_cost(n, c.opts.snapshots));
    }
    // Checkpoints by reference (in memory): Revolve's innermost sweeps ran as windows, the
    // forward writing the slots in place and the reverse reading them there.
    if (!c.opts.checkpoints_by_reference) {
      EXPECT_EQ(r.stats.loads_in_place + r.stats.saves_in_place + r.stats.reverse_windows, 0);
    } else if (c.opts.strategy == GradientStrategy::Revolve && c.opts.snapshots >= 3) {
      EXPECT_GT(r.stats.reverse_windows, 0);
      EXPECT_GT(r.stats.saves_in_place, 0);
      EXPECT_GT(r.stats.loads_in_place, 0);
      // With more snapshots Revolve restores most states only for their own reverse step.
      if (c.opts.snapshots >= 9) {
        EXPECT_GT(r.stats.loads_in_place, r.stats.loads[kMemoryLevel] / 2);
      }
      // Revolve's innermost sweeps mostly start from a state a Load restores: those windows read
      // it in its slot instead of copying it out (the others start where an advance left the
      // object, and need no load).
      EXPECT_GT(r.stats.windows_from_slots, 0);
      EXPECT_LE(r.stats.windows_from_slots, r.stats.reverse_windows);
      // The only loads that copy are those a re-creation starts from (a Load, then an Advance
      // of several steps in the object's own buffers): every other restored state is read in
      // its slot, by a window or by its own reverse step.
      std::int64_t recreations = 0;
      const std::vector<Action> &acts = g.schedule()->actions;
      for (std::size_t k = 0; k + 1 < acts.size(); ++k)
        recreations += acts[k].kind == ActionKind::Load && acts[k + 1].kind == ActionKind::Advance &&
                       acts[k + 1].t1 - acts[k + 1].t0 > 1;
      EXPECT_EQ(r.stats.loads[kMemoryLevel] - r.stats.loads_in_place, recreations);
    } else if (c.opts.strategy == GradientStrategy::StoreAll) {
      // One run from state 0 to the last step, which needs its forward step first: no window,
      // but every state restored in place for its reverse step.
      EXPECT_EQ(r.stats.loads_in_place, r.stats.loads[kMemoryLevel]);
    }
    if (c.opts.memory_bytes > 0) {
      EXPECT_EQ(r.snapshots, 4);
      EXPECT_LE(r.stats.peak_bytes_memory, c.opts.memory_bytes);
    }
    if (c.opts.strategy == GradientStrategy::TwoLevel) {
      EXPECT_GT(r.stats.saves[kDiskLevel], 0);
      EXPECT_GT(r.stats.peak_bytes_disk, 0u);
      std::filesystem::path dir(c.opts.disk_directory);
      EXPECT_TRUE(std::filesystem::is_empty(dir)) << "checkpoint files left behind in " << dir;
      std::filesystem::remove_all(dir);
    }
    // A second run of the same object (the FWI loop) gives the same again.
    const GradientResult again = g.compute(shot.observed);
    EXPECT_TRUE(bitwise_equal(again.gradient, ref.gradient));
  }
}

TEST_P(CheckpointedGradient, FullHistoryGradientMatchesCheckpointed) {
  test::Shot shot = test::make_shot(GetParam());
  const GradientProblem problem = gradient_problem(*shot.problem);
  GradientOptions ckpt;
  ckpt.strategy = GradientStrategy::Revolve;
  ckpt.snapshots = 4;
  const GradientResult a = compute_gradient(problem, shot.observed, ckpt);
  const GradientResult b = compute_gradient(problem, shot.observed, GradientOptions{});  // full history
  EXPECT_EQ(b.schedule, "full-history");
  const double gap = max_relative_gap(a.gradient, b.gradient);
  std::printf("full history vs revolve (%s): max relative gap %.3g, bitwise %s, misfit %.17g vs %.17g\n",
              dtype_name(GetParam()), gap, bitwise_equal(a.gradient, b.gradient) ? "yes" : "no", a.misfit, b.misfit);
  EXPECT_LE(gap, 1e-12);
  // The same arithmetic on the same values, only the time-buffer indexing differs: in practice
  // the compiled kernels give the same bits.
  EXPECT_TRUE(bitwise_equal(a.gradient, b.gradient));
  EXPECT_EQ(a.misfit, b.misfit);
}

// reverse(t0, t1) over several steps at once (not used by the executor) reverses like one step
// at a time.
// Before each reverse step t, the receiver residuals of step t seed the adjoint.
void seed_residuals(OperatorCheckpointable &stepper, const DerivativeOperator &adj, test::Shot &shot) {
  AcousticProblem &p = *shot.problem;
  auto rec_bar = adj.of("rec");
  stepper.before_adjoint = [&p, &shot, rec_bar](std::int64_t t) {
    const FieldData &rec = *p.rec().data();
    auto r = SparseTimeFunction::from_data(rec_bar);
    for (std::int64_t i = 0; i < rec.npoint; ++i)
      r.set_value(t, i, p.rec().value(t, i) - shot.observed[static_cast<std::size_t>(t * rec.npoint + i)]);
  };
}

TEST_P(CheckpointedGradient, AdapterReversesARangeFromOneState) {
  test::Shot shot = test::make_shot(GetParam(), {16, 14}, 4, 40.0);
  AcousticProblem &p = *shot.problem;
  const GradientProblem problem = gradient_problem(p);
  GradientOptions o;
  o.strategy = GradientStrategy::StoreAll;
  const GradientResult ref = compute_gradient(problem, shot.observed, o);

  Operator fwd(p.equations());
  DiffRequest req;
  req.parameters = {p.m().data()};
  req.at_rest = true;  // as FwiGradient asks: the same operator, so the same bits
  DerivativeOperator adj = adjoint(p.equations(), req);
  ApplyArgs args;
  args.scalars["dt"] = p.dt();
  OperatorCheckpointable stepper(fwd, adj, {p.u().data()}, 1, p.nt() - 2, args);
  EXPECT_EQ(stepper.steps(), p.nt() - 2);
  EXPECT_EQ(stepper.operator_time(0), 1);
  // The state: every modulo buffer of u (two: u[t+1] overwrites u[t-1]), shaped like the
  // allocated grid; a checkpoint holds the two levels a step reads, rotating through them.
  const State st = stepper.state();
  const auto nb = static_cast<std::size_t>(p.u().data()->nbuf);
  ASSERT_EQ(nb, 2u);
  ASSERT_EQ(st.size(), nb);
  EXPECT_EQ(st[0].shape, std::vector<std::int64_t>(p.u().data()->alloc.begin() + 1, p.u().data()->alloc.end()));
  for (int s = 0; s < 3; ++s) {
    const State live = stepper.state_at(s);
    ASSERT_EQ(live.size(), 2u);
    EXPECT_EQ(state_bytes(live), stepper.state_bytes());
    // Step s reads levels s and s + 1 (operator time s + 1 and its previous level).
    EXPECT_EQ(live[0].data, st[static_cast<std::size_t>(s) % nb].data);
    EXPECT_EQ(live[1].data, st[static_cast<std::size_t>(s + 1) % nb].data);
  }

  std::memset(p.u().data()->buffer.get(), 0, p.u().data()->count() * p.u().data()->element_size());
  seed_residuals(stepper, adj, shot);
  const int n = stepper.steps();
  stepper.forward(0, n / 2);
  stepper.reverse(n / 2, n);  // from state n/2: steps n-1 .. n/2
  // Back to state 0, then the first half.
  std::memset(p.u().data()->buffer.get(), 0, p.u().data()->count() * p.u().data()->element_size());
  stepper.reverse(0, n / 2);
  EXPECT_TRUE(bitwise_equal(Function::from_data(adj.of("m")).get_data(), ref.gradient));
}

// Online Revolve (the number of steps unknown during the forward) reverses with checkpoints by
// reference too: the same gradient bitwise as with copies, states read in their slots.
TEST_P(CheckpointedGradient, OnlineRevolveReversesByReference) {
  test::Shot shot = test::make_shot(GetParam(), {16, 14}, 4, 40.0);
  AcousticProblem &p = *shot.problem;
  GradientOptions o;
  o.strategy = GradientStrategy::StoreAll;
  o.checkpoints_by_reference = false;
  const GradientResult ref = compute_gradient(gradient_problem(p), shot.observed, o);
  Operator fwd(p.equations());
  DiffRequest req;
  req.parameters = {p.m().data()};
  req.at_rest = true;
  DerivativeOperator adj = adjoint(p.equations(), req);
  ApplyArgs args;
  args.scalars["dt"] = p.dt();
  OperatorCheckpointable stepper(fwd, adj, {p.u().data()}, 1, p.nt() - 2, args);
  seed_residuals(stepper, adj, shot);
  const int n = stepper.steps();
  for (bool by_reference : {false, true}) {
    SCOPED_TRACE(by_reference);
    std::memset(p.u().data()->buffer.get(), 0, p.u().data()->count() * p.u().data()->element_size());
    for (const auto &[name, f] : adj.fields) std::memset(f->buffer.get(), 0, f->count() * f->element_size());
    stepper.invalidate_prepare();
    MemoryStorage memory;
    const ExecutionStats s = execute_online(
        6, stepper, memory, [&](int t) { return t < n; }, by_reference);
    EXPECT_EQ(s.reverse_steps, n);
    EXPECT_TRUE(bitwise_equal(Function::from_data(adj.of("m")).get_data(), ref.gradient));
    if (by_reference) {
      EXPECT_GT(s.loads_in_place, 0);
      EXPECT_GT(s.reverse_windows, 0);
    } else {
      EXPECT_EQ(s.loads_in_place + s.reverse_windows, 0);
    }
  }
}

// DiffRequest::at_rest sums the gradient by parts in time: the adjoint reads one level of the
// forward instead of three, keeps four levels of its own, and the gradient is the same up to
// rounding (float64).
TEST(gradient_ByParts, SummedByPartsTheGradientReadsOneForwardLevelAndAgrees) {
  // Three buffers: the plain form reads u[t-1], u[t] and u[t+1] from the checkpoints.
  test::Shot shot = test::make_shot(DType::Float64, {18, 15}, 4, 60.0, false);
  AcousticProblem &p = *shot.problem;
  Operator fwd(p.equations());
  ApplyArgs args;
  args.scalars["dt"] = p.dt();
  std::vector<std::vector<double>> gradients;
  for (bool at_rest : {false, true}) {
    DiffRequest req;
    req.parameters = {p.m().data()};
    req.at_rest = at_rest;
    DerivativeOperator adj = adjoint(p.equations(), req);
    const std::set<std::int64_t> needs = adj.forward_needs.at("u");
    // Summed by parts against the level the step computes: one forward level, u[t]; the
    // adjoint keeps two levels, z[t] overwriting z[t+2] (read only where z[t] is written, and
    // by the gradient before that).
    const std::set<std::int64_t> expected = at_rest ? std::set<std::int64_t>{0} : std::set<std::int64_t>{-1, 0, 1};
    EXPECT_EQ(needs, expected);
    EXPECT_EQ(adj.of("u")->nbuf, 2);
    OperatorCheckpointable stepper(fwd, adj, {p.u().data()}, 1, p.nt() - 2, args);
    seed_residuals(stepper, adj, shot);
    std::memset(p.u().data()->buffer.get(), 0, p.u().data()->count() * p.u().data()->element_size());
    stepper.reverse(0, stepper.steps());
    gradients.push_back(Function::from_data(adj.of("m")).get_data());
    // The plain form reads u[t+1], which forward step t writes: every reverse step runs it
    // first. By parts, only the last step (which nothing advanced to before) is run.
    EXPECT_EQ(stepper.tapes(), !at_rest);
    EXPECT_EQ(stepper.taped_steps(), at_rest ? 1 : stepper.steps());
  }
  double peak = 0;
  for (double v : gradients[0]) peak = std::max(peak, std::fabs(v));
  ASSERT_GT(peak, 0.0);
  EXPECT_LT(test::max_relative_gap(gradients[1], gradients[0]), 1e-12);
}

// A state of several fields (staggered pressure and particle velocity, first order in time),
// whose gradient (with respect to the buoyancy b) reads only the pressure: no window (the
// velocities the steps write are not read back), but every state restored only for its
// reverse step is read in its slot. The same gradient bitwise as with copies.
TEST(CheckpointedGradientByReference, SeveralStateFieldsReadInPlace) {
  Grid g({21, 17}, {200.0, 160.0}, DType::Float64);
  TimeFunctionOptions to;
  to.time_order = 1;
  TimeFunction p("p", g, 4, to), vx("vx", g, 4, to), vy("vy", g, 4, to);
  Function b("b", g, 4), k("k", g, 4);
  b.fill(1.0);
  k.fill(1.5);
  const std::int64_t nt = 40;
  SparseTimeFunction src("src", g, 1, nt), rec("rec", g, 3, nt);
  src.set_coordinates({100.0, 80.0});
  rec.set_coordinates({40.0, 20.0, 100.0, 20.0, 160.0, 20.0});
  std::vector<double> wavelet(static_cast<std::size_t>(nt));
  for (std::int64_t t = 0; t < nt; ++t) wavelet[static_cast<std::size_t>(t)] = std::exp(-0.05 * double((t - 8) * (t - 8)));
  src.set_data(wavelet);
  const Expr dtv = g.dt();
  GradientProblem problem;
  problem.equations = test::staggered_acoustic(p, vx, vy, b, k, 4);
  problem.equations.push_back(src.inject(p.forward(), src() * dtv));
  problem.equations.push_back(rec.interpolate(p()));
  problem.state = {p.data(), vx.data(), vy.data()};
  problem.parameter = b.data();
  problem.receivers = rec.data();
  problem.time_m = 0;
  problem.time_M = nt - 2;
  problem.scalars["dt"] = 2.0;
  std::vector<double> observed(static_cast<std::size_t>(nt * 3), 0.0);
  GradientOptions copies;
  copies.strategy = GradientStrategy::Revolve;
  copies.snapshots = 6;
  copies.checkpoints_by_reference = false;
  const GradientResult a = compute_gradient(problem, observed, copies);
  GradientOptions in_place = copies;
  in_place.checkpoints_by_reference = true;
  const GradientResult r = compute_gradient(problem, observed, in_place);
  ASSERT_GT(test::norm(a.gradient), 0.0);
  EXPECT_TRUE(bitwise_equal(r.gradient, a.gradient)) << "max relative gap " << max_relative_gap(r.gradient, a.gradient);
  EXPECT_EQ(r.misfit, a.misfit);
  EXPECT_EQ(r.stats.reverse_windows, 0);
  EXPECT_GT(r.stats.loads_in_place, 0);
  EXPECT_EQ(r.stats.loads[kMemoryLevel], a.stats.loads[kMemoryLevel]);
  EXPECT_EQ(a.stats.loads_in_place, 0);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CheckpointedGradient, ::testing::Values(DType::Float64, DType::Float32),
                         [](const auto &info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace tenet
