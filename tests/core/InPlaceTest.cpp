// Time levels kept in place (TimeFunctionOptions::buffers = time_order: u[t+1] overwrites
// u[t-1]) give bitwise the results of the default time_order + 1 buffers, and Operators refuse
// equations for which overwriting in place would change the result.
#include <gtest/gtest.h>

#include <vector>

#include "AcousticFixture.h"
#include "CoreTestUtil.h"
#define EXPECT_MENTIONS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << "message: " << (msg)

namespace tenet {
namespace {

using Case = test::AcousticCase;

class InPlace : public ::testing::TestWithParam<Case> {};

TEST_P(InPlace, TwoBuffersGiveTheResultsOfThree) {
  const Case c = GetParam();
  std::vector<std::vector<double>> last, before, recs;
  for (int buffers : {0, 2}) {
    test::AcousticSetup s(c.ndim, c.n, c.dtype, 8, buffers);
    EXPECT_EQ(s.u.data()->nbuf, buffers == 0 ? 3 : 2);
    Operator op(s.eqs);
    s.u.fill(0.0);
    op.apply(s.args(2));
    const auto nb = static_cast<std::int64_t>(s.u.data()->nbuf);
    const std::int64_t t_last = test::AcousticSetup::kSteps + 1;  // the last level written
    last.push_back(s.u.get_data(static_cast<int>(t_last % nb)));
    before.push_back(s.u.get_data(static_cast<int>((t_last - 1) % nb)));
    recs.push_back(s.rec.get_data());
  }
  double peak = 0;
  for (double v : recs[0]) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.0);
  EXPECT_EQ(last[0], last[1]);
  EXPECT_EQ(before[0], before[1]);
  EXPECT_EQ(recs[0], recs[1]);
}

INSTANTIATE_TEST_SUITE_P(core_Acoustic, InPlace,
                         ::testing::Values(Case{2, 61, DType::Float32}, Case{3, 29, DType::Float32},
                                           Case{2, 61, DType::Float64}, Case{3, 29, DType::Float64}));

TEST(core_InPlace, OperatorsRefuseWhatInPlaceWouldChange) {
  Grid g({20, 20}, {1.0, 1.0});
  TimeFunctionOptions o;
  o.buffers = 2;
  TimeFunction u("u_ip", g, 4, o);
  Function m("m", g, 4);
  SparseTimeFunction rec("rec", g, 1, 10);
  rec.set_coordinates(std::vector<double>{0.5, 0.5});
  const Expr stencil = solve(Expr(m) * dt2(u) - laplace(u), u.forward());
  // u[t-1] read at a neighbour: that point may already hold u[t+1].
  const Expr shifted = shift(u.backward(), g.dim(0), 1);
  std::string msg = test::error_message([&] { Operator({Eq(u.forward(), stencil + shifted)}); });
  EXPECT_MENTIONS(msg, "u_ip");
  EXPECT_MENTIONS(msg, "in place");
  EXPECT_MENTIONS(msg, "buffers");
  // u[t-1] read after u[t+1] has overwritten it.
  msg = test::error_message([&] { Operator({Eq(u.forward(), stencil), rec.interpolate(u.backward())}); });
  EXPECT_MENTIONS(msg, "in place");
  // The same read before the update is fine, and so is the default number of buffers.
  EXPECT_NO_THROW(Operator({rec.interpolate(u.backward()), Eq(u.forward(), stencil)}));
  TimeFunction v("v_ip", g, 4);
  EXPECT_NO_THROW(Operator({Eq(v.forward(), solve(Expr(m) * dt2(v) - laplace(v), v.forward()) + shift(v.backward(), g.dim(0), 1))}));
  // Fewer buffers than time_order is refused when the function is created.
  TimeFunctionOptions one;
  one.buffers = 1;
  msg = test::error_message([&] { TimeFunction w("w_ip", g, 4, one); });
  EXPECT_MENTIONS(msg, "w_ip");
  EXPECT_MENTIONS(msg, "buffers");
}

}  // namespace
}  // namespace tenet
