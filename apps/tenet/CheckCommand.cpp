// `tenet check`: verifies the adjoint and the gradient on the user's configuration.
//
// 1. Adjoint dot test, per shot: F maps a source wavelet s to the receiver data F s (the acoustic
//    equations at the starting model, linear in s); its adjoint F^T comes from automatic
//    differentiation of the same equations. For random s and r, <F s, r> must equal <s, F^T r>
//    to round-off.
// 2. Taylor test of the FWI misfit J (summed over the shots, data from the true model) at the
//    starting model m0, along a perturbation dm of the physical domain (random, plus as much
//    along -g), with the gradient g the planner's strategy computes: |J(m0 + h dm) - J(m0)| must
//    shrink like h (slope 1 in log2 per halving of h) and |J(m0 + h dm) - J(m0) - h <g, dm>| like
//    h^2 (slope 2).
//
// Runs in float64 unless --dtype is given (float32 round-off hides the second-order term).
// Prints the figures and PASS/FAIL; a failure exits non-zero with a message saying what failed.
// The hidden --wrong-adjoint switch corrupts the adjoint (one time step of F^T r scaled by 2, the
// gradient's sign flipped) so that tests can see the check fail.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "Commands.h"
#include "Survey.h"
#include "ad/Differentiate.h"
#include "seismic/Models.h"
#include "seismic/SeismicIO.h"
#include "support/Error.h"
#include "support/Progress.h"

namespace tenet::cli {

namespace {

struct CheckOptions {
  SurveyOptions survey;
  int halvings = 6;
  double perturbation = 0.01;  ///< |dm| relative to m0 at h = 1
  double dot_tolerance = 0;    ///< 0: by dtype
  double slope_tolerance = 0.15;
  bool wrong_adjoint = false;
  bool dtype_given = false;
};

double dot(const std::vector<double> &a, const std::vector<double> &b) {
  TENET_INTERNAL_CHECK(a.size() == b.size(), "dot: sizes ", a.size(), " and ", b.size());
  long double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<long double>(a[i]) * b[i];
  return static_cast<double>(s);
}

std::vector<double> random_vector(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(n);
  for (auto &x : v) x = u(gen);
  return v;
}

void zero(FieldData &f) { std::memset(f.buffer.get(), 0, f.count() * f.element_size()); }

// Padded-grid mask of the physical domain (the absorbing layer is not part of the model).
std::vector<char> physical_mask(const VelocityModel &m) {
  const auto ps = m.padded_shape();
  std::vector<char> mask(m.velocity.size(), 0);
  for (std::size_t i = 0; i < mask.size(); ++i) {
    std::size_t rest = i;
    bool inside = true;
    for (std::size_t d = ps.size(); d-- > 0;) {
      const auto n = static_cast<std::size_t>(ps[d]);
      const auto at = static_cast<std::int64_t>(rest % n);
      rest /= n;
      inside &= at >= m.nbl && at < static_cast<std::int64_t>(n) - m.nbl;
    }
    mask[i] = inside;
  }
  return mask;
}

struct DotResult {
  double lhs = 0, rhs = 0, gap = 0;
};

// <F s, r> against <s, F^T r> for every shot position.
std::vector<DotResult> dot_tests(AcousticProblem &p, const std::vector<std::vector<double>> &sources,
                                 const CheckOptions &o) {
  OperatorOptions oo;
  oo.name = "check_adjoint";
  DerivativeOperator adj = adjoint(p.equations(), DiffRequest{}, oo);
  SparseTimeFunction srcbar = SparseTimeFunction::from_data(adj.of(p.src().data()->name()));
  SparseTimeFunction recbar = SparseTimeFunction::from_data(adj.of(p.rec().data()->name()));
  const std::size_t nt = static_cast<std::size_t>(p.nt());
  const std::size_t nrec = p.rec().get_data().size() / nt;
  ApplyArgs a;
  a.time_m = 1;
  a.time_M = p.nt() - 2;
  a.scalars["dt"] = p.dt();
  a.threads = o.survey.threads;
  const std::vector<double> wavelet = p.src().get_data();
  std::vector<DotResult> out;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    p.src().set_coordinates(sources[i]);
    srcbar.set_coordinates(sources[i]);  // the adjoint's copy of the source positions
    // The forward reads s at times 1..nt-2 and writes r at times 1..nt-2: random values there.
    std::vector<double> s = random_vector(nt, 1000 + i), r = random_vector(nt * nrec, 2000 + i);
    s.front() = s.back() = 0;
    std::fill(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(nrec), 0.0);
    std::fill(r.end() - static_cast<std::ptrdiff_t>(nrec), r.end(), 0.0);
    p.src().set_data(std::span<const double>(s));
    p.rec().set_data(std::span<const double>(std::vector<double>(nt * nrec, 0.0)));
    p.u().fill(0.0);
    p.forward(o.survey.threads);
    const std::vector<double> fs = p.rec().get_data();
    for (const auto &[name, f] : adj.fields) zero(*f);
    recbar.set_data(std::span<const double>(r));
    adj.apply(a);
    std::vector<double> ftr = srcbar.get_data();
    if (o.wrong_adjoint) {
      // Corrupt the adjoint: scale the time step that contributes most to <s, F^T r> by 2.
      std::size_t k = 0;
      for (std::size_t t = 0; t < nt; ++t)
        if (std::fabs(s[t] * ftr[t]) > std::fabs(s[k] * ftr[k])) k = t;
      ftr[k] *= 2.0;
    }
    DotResult d;
    d.lhs = dot(fs, r);
    d.rhs = dot(s, ftr);
    d.gap = std::fabs(d.lhs - d.rhs) / std::max({std::fabs(d.lhs), std::fabs(d.rhs), 1e-300});
    out.push_back(d);
  }
  p.src().set_data(std::span<const double>(wavelet));
  return out;
}

void run(CheckOptions o) {
  SurveyOptions &s = o.survey;
  install_interrupt_handler();
  TENET_USER_CHECK(o.halvings >= 2 && o.halvings <= 20, "--halvings ", o.halvings, ": use 2 to 20");
  TENET_USER_CHECK(o.perturbation > 0 && o.perturbation < 0.5, "--perturbation ", o.perturbation,
                   ": use a relative size in (0, 0.5), e.g. 0.01");
  TENET_USER_CHECK(o.slope_tolerance > 0 && o.slope_tolerance < 0.5, "--slope-tolerance ", o.slope_tolerance,
                   ": use a value in (0, 0.5), e.g. 0.15");
  TENET_USER_CHECK(o.dot_tolerance >= 0 && o.dot_tolerance < 1, "--dot-tolerance ", o.dot_tolerance,
                   ": use a relative gap in [0, 1) (0 for the default)");
  VelocityModel truth = survey_model(s);
  VelocityModel start = starting_model(s, truth);
  const auto sources = survey_sources(s, truth);
  const auto receivers = survey_receivers(s, truth);
  AcousticOptions ao = survey_acoustic(s, truth, start.vmax());
  ao.src = sources[0];
  ao.rec = receivers;
  ensure_directory(s.out);
  const bool f64 = ao.dtype == DType::Float64;
  const double dot_tol = o.dot_tolerance > 0 ? o.dot_tolerance : f64 ? 1e-10 : 1e-4;

  AcousticProblem p(start, ao);
  std::string dims;
  for (std::size_t d = 0; d < truth.shape.size(); ++d) dims += internal::cat(d ? " x " : "", truth.shape[d]);
  say(s, "tenet check: %s model %s at %g m, %zu shots, %lld steps of %.4f ms, order %d, %s%s\n", s.model.c_str(),
      dims.c_str(), truth.spacing[0], sources.size(), static_cast<long long>(p.nt()), p.dt(), s.space_order, s.dtype.c_str(),
      o.dtype_given ? "" : " (the check's default; give --dtype to check another precision)");
  if (o.wrong_adjoint) say(s, "test switch --wrong-adjoint: the adjoint is deliberately corrupted; the check must fail\n");

  // 1. Dot test.
  std::vector<std::string> failures;
  const auto dots = dot_tests(p, sources, o);
  double worst = 0;
  nlohmann::json jdots = nlohmann::json::array();
  say(s, "adjoint dot test <F s, r> = <s, F^T r> (tolerance %.0e):\n", dot_tol);
  for (std::size_t i = 0; i < dots.size(); ++i) {
    const auto &d = dots[i];
    worst = std::max(worst, d.gap);
    say(s, "  shot %zu: <F s, r> = %+.15e  <s, F^T r> = %+.15e  relative gap %.2e  %s\n", i + 1, d.lhs, d.rhs, d.gap,
        d.gap <= dot_tol ? "ok" : "FAIL");
    jdots.push_back({{"shot", i + 1}, {"lhs", d.lhs}, {"rhs", d.rhs}, {"relative_gap", d.gap}});
  }
  const bool dot_pass = worst <= dot_tol && std::isfinite(worst);
  if (!dot_pass)
    failures.push_back(internal::cat("the adjoint dot test gap ", worst, " exceeds ", dot_tol,
                                     ": the adjoint is not the transpose of the forward"));
  say(s, "  dot test: %s (worst gap %.2e)\n", dot_pass ? "PASS" : "FAIL", worst);

  // 2. Taylor test.
  std::vector<std::vector<double>> observed;
  {
    AcousticProblem tp(truth, ao);
    observed = model_shots(tp, sources, s.threads);
  }
  MemoryPlan plan = plan_memory(s, p);
  say(s, "%s\n", plan.explanation.c_str());
  FwiGradient fg(gradient_problem(p), plan.options);
  const std::vector<double> m0 = p.m().get_data();
  std::vector<double> g(m0.size(), 0.0);
  double jg = 0;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    p.src().set_coordinates(sources[i]);
    GradientResult r = fg.compute(std::span<const double>(observed[i]));
    for (std::size_t k = 0; k < g.size(); ++k) g[k] += r.gradient[k];
    jg += r.misfit;
  }
  // Data that the starting model reproduces exactly leave nothing to test: J = 0 and g = 0.
  TENET_USER_CHECK(jg > 0, "the starting model reproduces the observed data exactly (misfit ", jg,
                   "), so the gradient is zero and the Taylor test has nothing to measure; start from another model "
                   "(--smooth > 0, or a --model whose smoothed version differs)");
  if (o.wrong_adjoint)
    for (double &v : g) v = -v;
  auto objective = [&](const std::vector<double> &m) {
    p.m().set_data(std::span<const double>(m));
    double j = 0;
    auto modelled = model_shots(p, sources, s.threads);
    for (std::size_t i = 0; i < sources.size(); ++i) j += shot_misfit(p, modelled[i], observed[i]);
    return j;
  };
  const std::vector<char> mask = physical_mask(start);
  std::vector<double> dm = random_vector(m0.size(), 77);
  for (std::size_t k = 0; k < dm.size(); ++k) dm[k] = mask[k] ? dm[k] * o.perturbation * m0[k] : 0.0;
  // Plus as much again along the gradient: a random dm alone can be nearly orthogonal to g, and
  // then the h^2 term outweighs h <g, dm> at the larger h, so |J - J0| shows slope 2, not 1,
  // however right g is. A wrong g still fails: the second-order residual keeps h <g_true - g, dm>.
  {
    double rn = 0, gn = 0;
    for (std::size_t k = 0; k < dm.size(); ++k) {
      rn += dm[k] * dm[k];
      gn += mask[k] ? g[k] * g[k] : 0.0;
    }
    const double scale = gn > 0 ? std::sqrt(rn / gn) : 0.0;
    for (std::size_t k = 0; k < dm.size(); ++k)
      if (mask[k]) dm[k] -= scale * g[k];  // downhill, as an inversion steps
  }
  const double j0 = objective(m0);
  const double gdm = dot(g, dm);
  say(s, "Taylor test of the misfit at the starting model (J0 = %.10e; the gradient's own misfit %.10e, relative "
         "difference %.1e), <g, dm> = %.6e:\n",
      j0, jg, std::fabs(jg - j0) / std::max(std::fabs(j0), 1e-300), gdm);
  say(s, "  %10s  %16s  %16s  %8s  %8s\n", "h", "|J - J0|", "|J - J0 - h g.dm|", "slope1", "slope2");
  std::vector<double> hs, r1, r2;
  Progress bar("taylor", o.halvings + 1, !s.quiet);
  for (int i = 0; i <= o.halvings; ++i) {
    const double h = std::ldexp(1.0, -i);
    std::vector<double> m(m0.size());
    for (std::size_t k = 0; k < m.size(); ++k) m[k] = m0[k] + h * dm[k];
    const double j = objective(m);
    hs.push_back(h);
    r1.push_back(std::fabs(j - j0));
    r2.push_back(std::fabs(j - j0 - h * gdm));
    bar.update(i + 1);
  }
  bar.finish();
  p.m().set_data(std::span<const double>(m0));
  std::vector<double> s1, s2;
  nlohmann::json jtaylor = nlohmann::json::array();
  // |J - J0| has slope 1 only where the first-order term outweighs the rest: at the larger h
  // of a strongly curved misfit it is still bending, so slope 1 is judged where the
  // second-order residual is under a quarter of it at both ends of the halving (at least half
  // of them must be). Slope 2, which is what a wrong gradient breaks, is judged everywhere.
  auto linear = [&](std::size_t i) { return r2[i] < 0.25 * r1[i]; };
  int bad1 = 0, bad2 = 0, judged1 = 0;
  for (std::size_t i = 0; i < hs.size(); ++i) {
    double a = NAN, b = NAN;
    if (i > 0) {
      a = std::log2(r1[i - 1] / r1[i]);
      b = std::log2(r2[i - 1] / r2[i]);
      s1.push_back(a);
      s2.push_back(b);
      const bool judge1 = linear(i - 1) && linear(i);
      const bool ok1 = !judge1 || std::fabs(a - 1.0) <= o.slope_tolerance,
                 ok2 = std::fabs(b - 2.0) <= 2 * o.slope_tolerance;
      judged1 += judge1;
      bad1 += !ok1;
      bad2 += !ok2;
      say(s, "  %10.6f  %16.9e  %16.9e  %8.4f  %8.4f%s\n", hs[i], r1[i], r2[i], a, b,
          !(ok1 && ok2) ? "  <- off" : judge1 ? "" : "  (first order not yet dominant: slope 1 not judged)");
    } else {
      say(s, "  %10.6f  %16.9e  %16.9e\n", hs[i], r1[i], r2[i]);
    }
    jtaylor.push_back({{"h", hs[i]}, {"first_order_residual", r1[i]}, {"second_order_residual", r2[i]},
                       {"slope1", i ? nlohmann::json(a) : nlohmann::json(nullptr)},
                       {"slope2", i ? nlohmann::json(b) : nlohmann::json(nullptr)}});
  }
  // Every halving must show the orders: slope 1 within the tolerance, slope 2 within twice it.
  const bool few1 = 2 * judged1 < o.halvings;
  const bool taylor_pass = bad1 == 0 && bad2 == 0 && !few1 && gdm != 0 && std::isfinite(gdm);
  if (!taylor_pass) {
    std::string list1, list2;
    for (double v : s1) list1 += internal::cat(list1.empty() ? "" : ", ", std::round(v * 100) / 100);
    for (double v : s2) list2 += internal::cat(list2.empty() ? "" : ", ", std::round(v * 100) / 100);
    failures.push_back(internal::cat("the Taylor test failed: slopes of |J - J0| ", list1, " (want 1 +- ",
                                     o.slope_tolerance, "), of |J - J0 - h <g, dm>| ", list2, " (want 2 +- ",
                                     2 * o.slope_tolerance, ")", gdm == 0 ? "; <g, dm> is 0" : "",
                                     bad1 == 0 && bad2 == 0 && few1
                                         ? ": inconclusive, the first-order term dominates in too few halvings (use a "
                                           "smaller --perturbation or more --halvings)"
                                         : ": the gradient is not the derivative of the misfit",
                                     f64 ? "" : " (or float32 round-off hides the second-order term: run the check in "
                                                "float64, its default, or with a larger --perturbation)"));
  }
  say(s, "  Taylor test: %s\n", taylor_pass ? "PASS" : "FAIL");

  nlohmann::json j = {{"model", s.model},
                      {"shape", truth.shape},
                      {"dtype", s.dtype},
                      {"shots", sources.size()},
                      {"time_steps", p.nt()},
                      {"wrong_adjoint", o.wrong_adjoint},
                      {"dot_test", {{"pass", dot_pass}, {"tolerance", dot_tol}, {"worst_gap", worst}, {"shots", jdots}}},
                      {"taylor_test",
                       {{"pass", taylor_pass},
                        {"strategy", strategy_name(plan.options.strategy)},
                        {"misfit", j0},
                        {"g_dot_dm", gdm},
                        {"slope_tolerance", o.slope_tolerance},
                        {"steps", jtaylor}}},
                      {"pass", dot_pass && taylor_pass}};
  write_text_atomically(s.out + "/check.json", j.dump(2) + "\n", "check summary");
  if (!failures.empty()) {
    std::string msg = "tenet check FAILED:";
    for (const auto &f : failures) msg += "\n  - " + f;
    throw Error(msg);
  }
  say(s, "tenet check: PASS (dot test and Taylor test); figures in %s/check.json\n", s.out.c_str());
}

}  // namespace

void add_check_command(CLI::App &app) {
  auto o = std::make_shared<CheckOptions>();
  // Small defaults: the check runs the survey ~10 times.
  o->survey.model = "marmousi";
  o->survey.shape = {101, 51};
  o->survey.nbl = 20;
  o->survey.tn = 600.0;
  o->survey.shots = 2;
  o->survey.smooth = 6.0;
  o->survey.dtype = "float64";  // float32 round-off hides the Taylor test's second-order term
  CLI::App *c = app.add_subcommand(
      "check", "Adjoint dot test and Taylor test of the misfit on this configuration (float64 unless --dtype)");
  add_survey_options(c, o->survey, true);
  c->add_option("--halvings", o->halvings, "Taylor test: how many times h is halved")->capture_default_str();
  c->add_option("--perturbation", o->perturbation, "Taylor test: size of dm relative to m at h = 1")
      ->capture_default_str();
  c->add_option("--dot-tolerance", o->dot_tolerance, "largest relative gap of the dot test (0: 1e-10 in float64, 1e-4 in float32)")
      ->capture_default_str();
  c->add_option("--slope-tolerance", o->slope_tolerance, "Taylor slopes must be 1 +- this and 2 +- twice this")
      ->capture_default_str();
  // Test-only: corrupts the adjoint so that the check must fail. Hidden from --help.
  c->add_flag("--wrong-adjoint", o->wrong_adjoint, "corrupt the adjoint (tests)")->group("");
  c->callback([o, c] {
    CheckOptions run_options = *o;
    run_options.dtype_given = c->get_option("--dtype")->count() > 0;
    run(run_options);
  });
}

}  // namespace tenet::cli
