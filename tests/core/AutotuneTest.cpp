// The autotuner: block sizes chosen by a short timed run, data left as it was, the choice
// remembered per operator, shape and thread count, in memory and on disk next to the kernel.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "CoreTestUtil.h"
#include "fd/Derivatives.h"
#include "operator/Operator.h"

namespace tenet {
namespace {

struct Wave {
  Grid g{{40, 36, 34}, {390.0, 350.0, 330.0}};
  Function m{"m", g, 4};
  TimeFunction u{"u", g, 4, [] {
                   TimeFunctionOptions t;
                   t.time_order = 2;
                   return t;
                 }()};
  Wave() {
    m.fill(0.4);
    u.fill(1e-3, 0);
    u.fill(2e-3, 1);
  }
  std::vector<Eq> eqs() const { return {solve_eq(Expr(m) * dt2(u) - laplace(u), u.forward())}; }
};

ApplyArgs args(bool autotune) {
  ApplyArgs a;
  a.time_m = 1;
  a.time_M = 4;
  a.scalars["dt"] = 1.0;
  a.threads = 1;
  a.autotune = autotune;
  return a;
}

TEST(core_Autotune, LeavesTheResultAsWithoutTuningAndRemembersTheChoiceOnDisk) {
  test::TempDir dir("tune");
  test::ScopedEnv env("TENET_CACHE_DIR", dir.str());
  Wave a, b;
  Operator plain(a.eqs());
  plain.apply(args(false));
  Operator tuned(b.eqs());
  tuned.apply(args(true));
  // The trial runs are undone: both end in the same state.
  EXPECT_EQ(a.u.get_data(5 % 3), b.u.get_data(5 % 3));
  const std::vector<std::int64_t> chosen = tuned.block_sizes();
  ASSERT_EQ(chosen.size(), 2u);
  // The memo sits next to the kernel; a new operator of the same equations and shape reads it
  // instead of timing again (shown by planting values no timing would pick).
  std::vector<std::filesystem::path> memos;
  for (const auto &e : std::filesystem::directory_iterator(dir.str()))
    if (e.path().string().find(".tune-") != std::string::npos) memos.push_back(e.path());
  ASSERT_EQ(memos.size(), 1u);
  std::ofstream(memos[0]) << "3\n5\n";
  Wave c;
  Operator again(c.eqs());
  again.apply(args(true));
  EXPECT_EQ(again.block_sizes(), (std::vector<std::int64_t>{3, 5}));
  // A corrupt memo is ignored: the operator tunes again and rewrites it.
  std::ofstream(memos[0]) << "not a number\n";
  Wave d;
  Operator fresh(d.eqs());
  fresh.apply(args(true));
  std::ifstream in(memos[0]);
  std::int64_t x = 0, y = 0;
  in >> x >> y;
  EXPECT_GE(x, 1);
  EXPECT_GE(y, 1);
}

// With the whole history kept (save = N), the tuner restores only the levels its trial steps
// touch: an update that accumulates into the history (u[t+1] += ...) ends as without tuning on
// every level, those the trial steps touched and those nothing writes.
TEST(core_Autotune, RestoresTheLevelsOfAHistoryTheTrialTouches) {
  test::TempDir dir("tune-save");
  test::ScopedEnv env("TENET_CACHE_DIR", dir.str());
  TimeFunctionOptions t;
  t.time_order = 1;
  t.save = 9;
  Grid g{{40, 36, 34}, {390.0, 350.0, 330.0}};
  Function ma("m", g, 4), mb("m", g, 4);
  TimeFunction ua("u", g, 4, t), ub("u", g, 4, t);
  for (auto *m : {&ma, &mb}) m->fill(0.4);
  for (auto *u : {&ua, &ub})
    for (int l = 0; l < 9; ++l) u->fill(1e-3 * (l + 1), l);
  auto eqs = [](Function &m, TimeFunction &u) {
    return std::vector<Eq>{Inc(u.forward(), Expr(m) * u() + dx(u), "accumulate into the next level")};
  };
  Operator plain(eqs(ma, ua)), tuned(eqs(mb, ub));
  ApplyArgs a = args(false), b = args(true);
  a.scalars.clear();
  b.scalars.clear();
  plain.apply(a);
  tuned.apply(b);
  ASSERT_NE(ua.get_data(3), ua.get_data(8)) << "the run changed nothing";
  for (int l = 0; l < 9; ++l) EXPECT_EQ(ua.get_data(l), ub.get_data(l)) << "level " << l;
}

// A time-tiled 2D kernel whose tile steps the threads share (too narrow along y for stages:
// 20 columns) works, at each tile step, on a part only as wide as a tile (16 rows here): a row
// block of 16 or more gives the part one block and leaves the other threads idle.
// The default and every size the tuner may choose (or read back from a memo) give each thread
// a block; a memo planted with a one-block size is not reused.
TEST(core_Autotune, ATimeTiledStepGivesEveryThreadABlock) {
  test::TempDir dir("tune-tiled");
  test::ScopedEnv env("TENET_CACHE_DIR", dir.str());
  Grid g({120, 20}, {1190.0, 190.0});
  Function m("m", g, 4);
  TimeFunctionOptions to;
  to.time_order = 2;
  TimeFunction u("u", g, 4, to);
  m.fill(0.4);
  u.fill(1e-3, 0);
  u.fill(2e-3, 1);
  OperatorOptions o;
  o.passes.time_tiling = TimeTiling::Always;
  const std::vector<Eq> eqs{solve_eq(Expr(m) * dt2(u) - laplace(u), u.forward())};
  Operator op(eqs, o);
  ASSERT_NE(op.ccode().find("time tiles"), std::string::npos);
  ASSERT_NE(op.ccode().find("tile_barrier_(tile_bar_"), std::string::npos);
  ASSERT_EQ(op.block_sizes().size(), 1u);
  EXPECT_LE(op.block_sizes()[0], 4);  // 16-row tiles: at least four blocks per tile step
  ApplyArgs a = args(true);
  a.threads = 2;
  op.apply(a);
  EXPECT_LE(op.block_sizes()[0], 8);
  std::vector<std::filesystem::path> memos;
  for (const auto &e : std::filesystem::directory_iterator(dir.str()))
    if (e.path().string().find(".tune-") != std::string::npos) memos.push_back(e.path());
  ASSERT_EQ(memos.size(), 1u);
  std::ofstream(memos[0]) << "16\n";
  Operator again(eqs, o);
  again.apply(a);
  EXPECT_LE(again.block_sizes()[0], 8);
}

}  // namespace
}  // namespace tenet
