// End-to-end tests of the tenet command line (issue 6): runs the `tenet` executable on tiny
// surveys and checks exit codes, messages and the files it writes.
//
// Usage: test_cli TENET_EXECUTABLE WORK_DIRECTORY [gtest options]. Each test runs in its own
// folder under WORK_DIRECTORY (emptied first; kept afterwards for inspection).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "seismic/Models.h"
#include "seismic/SeismicIO.h"

namespace fs = std::filesystem;

namespace {

std::string g_tenet, g_work;

// A tiny survey: every run takes well under a second once the kernels are in the JIT cache.
const std::string kSmall = "--shape 61,31 --spacing 10 --nbl 10 --tn 300 --shots 2";

struct Result {
  int rc = -1;
  std::string output;  // stdout and stderr together
};

std::string quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(g_work) / (std::string(info->test_suite_name()) + "." + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // Runs `tenet ARGS` in the test's folder.
  Result tenet(const std::string &args) {
    const std::string cmd = "cd " + quote(dir_.string()) + " && " + quote(g_tenet) + " " + args + " 2>&1";
    Result r;
    FILE *p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    const int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
  }

  fs::path path(const std::string &name) const { return dir_ / name; }

  nlohmann::json json(const std::string &name) const {
    std::ifstream f(path(name));
    EXPECT_TRUE(f.good()) << "cannot open " << path(name);
    return nlohmann::json::parse(f);
  }

  void write_text(const std::string &name, const std::string &text) const { std::ofstream(path(name)) << text; }

  // No temporary file of an atomic write may be left anywhere under the folder.
  void expect_no_temporary_files() const {
    for (const auto &e : fs::recursive_directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left behind: " << e.path();
    }
  }

  static bool is_png(const fs::path &p) {
    std::ifstream f(p, std::ios::binary);
    char sig[8] = {};
    f.read(sig, 8);
    return f.good() && std::string(sig, 8) == std::string("\x89PNG\r\n\x1a\n", 8) && fs::file_size(p) > 100;
  }

  fs::path dir_;
};

// ---- tenet check ----------------------------------------------------------------------------

TEST_F(Cli, CheckPassesOnASmallConfiguration) {
  Result r = tenet("check " + kSmall);
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("dot test: PASS"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Taylor test: PASS"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("float64"), std::string::npos) << "the check runs in float64 by default\n" << r.output;
  nlohmann::json j = json("out/check.json");
  EXPECT_TRUE(j["pass"].get<bool>());
  EXPECT_LE(j["dot_test"]["worst_gap"].get<double>(), 1e-10);
  EXPECT_EQ(j["dot_test"]["shots"].size(), 2u);
  ASSERT_GE(j["taylor_test"]["steps"].size(), 5u);
  for (const auto &s : j["taylor_test"]["steps"]) {
    if (s["slope1"].is_null()) continue;
    EXPECT_NEAR(s["slope1"].get<double>(), 1.0, 0.15);
    EXPECT_NEAR(s["slope2"].get<double>(), 2.0, 0.3);
  }
  expect_no_temporary_files();
}

TEST_F(Cli, CheckPassesWithCheckpointingInABudget) {
  // The Taylor test uses the planner's gradient: here Revolve with a few checkpoints.
  Result r = tenet("check " + kSmall + " --memory 300KiB");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(json("out/check.json")["taylor_test"]["strategy"], "revolve");
}

TEST_F(Cli, CheckFailsWithAWrongAdjoint) {
  Result r = tenet("check " + kSmall + " --wrong-adjoint");
  EXPECT_NE(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("tenet check FAILED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("adjoint dot test gap"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Taylor test failed"), std::string::npos) << r.output;
  nlohmann::json j = json("out/check.json");
  EXPECT_FALSE(j["pass"].get<bool>());
  EXPECT_FALSE(j["dot_test"]["pass"].get<bool>());
  EXPECT_FALSE(j["taylor_test"]["pass"].get<bool>());
  EXPECT_GT(j["dot_test"]["worst_gap"].get<double>(), 1e-3);
}

TEST_F(Cli, CheckHidesItsTestSwitch) {
  Result r = tenet("check --help");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(r.output.find("wrong-adjoint"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--halvings"), std::string::npos) << r.output;
}

// ---- tenet gradient and the memory planner --------------------------------------------------

TEST_F(Cli, GradientRevolveNeverExceedsTheBudget) {
  // Reference: the whole history fits.
  Result full = tenet("gradient " + kSmall + " --memory 1GiB --out full");
  ASSERT_EQ(full.rc, 0) << full.output;
  const tenet::Array reference = tenet::read_npy(path("full/gradient.npy").string());
  double norm = 0;
  for (double v : reference.data) norm += v * v;
  ASSERT_GT(norm, 0.0);
  const double full_misfit = json("full/summary.json")["misfit"].get<double>();
  for (const char *budget : {"150KiB", "300KiB", "1MiB"}) {
    SCOPED_TRACE(budget);
    const std::string out = std::string("b") + budget;
    Result r = tenet("gradient " + kSmall + " --memory " + budget + " --out " + out);
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("memory: the full history would need"), std::string::npos) << r.output;
    nlohmann::json m = json(out + "/summary.json")["memory"];
    const std::size_t kib = std::stoul(budget) * (std::string(budget).find("MiB") != std::string::npos ? 1048576 : 1024);
    EXPECT_EQ(m["budget_bytes"].get<std::size_t>(), kib);
    EXPECT_EQ(m["strategy"], "revolve");
    EXPECT_GT(m["checkpoints"].get<int>(), 0);
    EXPECT_GT(m["peak_checkpoint_bytes"].get<std::size_t>(), 0u);
    EXPECT_LE(m["peak_checkpoint_bytes"].get<std::size_t>(), m["budget_bytes"].get<std::size_t>());
    EXPECT_GT(m["recomputed_steps"].get<long long>(), 0);
    EXPECT_EQ(m["recomputed_steps_per_shot"], m["predicted_recomputed_steps_per_shot"]);
    // Checkpointing changes the cost, never the result.
    const tenet::Array g = tenet::read_npy(path(out + "/gradient.npy").string());
    EXPECT_EQ(g.shape, reference.shape);
    EXPECT_EQ(g.data, reference.data);
    EXPECT_EQ(json(out + "/summary.json")["misfit"].get<double>(), full_misfit);
  }
  expect_no_temporary_files();
}

TEST_F(Cli, GradientKeepsTheFullHistoryWhenItFits) {
  Result r = tenet("gradient " + kSmall + " --memory 64MiB");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("no recomputation"), std::string::npos) << r.output;
  nlohmann::json j = json("out/summary.json");
  nlohmann::json m = j["memory"];
  EXPECT_EQ(m["strategy"], "full-history");
  EXPECT_EQ(m["recomputed_steps"].get<long long>(), 0);
  EXPECT_EQ(m["budget_bytes"].get<std::size_t>(), 64u << 20);
  EXPECT_LE(m["peak_checkpoint_bytes"].get<std::size_t>(), m["budget_bytes"].get<std::size_t>());
  EXPECT_LE(m["full_history_bytes"].get<std::size_t>(), m["budget_bytes"].get<std::size_t>());
  EXPECT_GT(j["misfit"].get<double>(), 0.0);
  EXPECT_GE(j["seconds"].get<double>(), 0.0);
  const tenet::Array g = tenet::read_npy(path("out/gradient.npy").string());
  EXPECT_EQ(g.shape, (std::vector<std::int64_t>{61, 31}));
  EXPECT_TRUE(is_png(path("out/gradient.png")));
}

// ---- tenet fwi --------------------------------------------------------------------------------

TEST_F(Cli, FwiLowersTheMisfitAndMovesTheAnomalyTowardTheTruth) {
  Result r = tenet("fwi --model circle --shape 51,51 --spacing 10 --nbl 12 --space-order 4 --f0 0.012 --tn 600 "
                   "--shots 4 --iterations 8 --smooth 30 --vmin 1.5 --vmax 3.0 --quiet");
  ASSERT_EQ(r.rc, 0) << r.output;
  nlohmann::json j = json("out/summary.json");
  EXPECT_GT(j["misfit_reduction"].get<double>(), 3.0);
  EXPECT_GE(j["misfit"].size(), 5u);  // the start and the iterations taken
  const tenet::Array t = tenet::read_npy(path("out/true_model.npy").string());
  const tenet::Array i0 = tenet::read_npy(path("out/initial_model.npy").string());
  const tenet::Array inv = tenet::read_npy(path("out/inverted_model.npy").string());
  ASSERT_EQ(t.data.size(), inv.data.size());
  double before = 0, after = 0;
  int inside = 0;
  for (std::size_t k = 0; k < t.data.size(); ++k)
    if (t.data[k] > i0.data[k] + 0.2) {
      before += t.data[k] - i0.data[k];
      after += t.data[k] - inv.data[k];
      ++inside;
    }
  EXPECT_GT(inside, 20);
  // Surface data recover a deep anomaly slowly: require a clear move of its mean toward the truth.
  EXPECT_LT(after, 0.95 * before) << "the velocity inside the anomaly did not move toward the truth";
  for (const char *png : {"true_model.png", "initial_model.png", "inverted_model.png", "gradient.png", "misfit.png"})
    EXPECT_TRUE(is_png(path(std::string("out/") + png))) << png;
  EXPECT_TRUE(fs::exists(path("out/model_stage0_iter01.npy")));
  expect_no_temporary_files();
}

TEST_F(Cli, GradientRefusesABudgetSmallerThanOneCheckpoint) {
  Result r = tenet("gradient " + kSmall + " --memory 1KiB");
  EXPECT_NE(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("--memory"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("out/summary.json")));
}

// ---- tenet forward and tenet model ----------------------------------------------------------

TEST_F(Cli, ForwardWritesReadableNpyAndSegy) {
  Result a = tenet("forward " + kSmall + " --out npy");
  ASSERT_EQ(a.rc, 0) << a.output;
  Result b = tenet("forward " + kSmall + " --out segy --format segy");
  ASSERT_EQ(b.rc, 0) << b.output;
  nlohmann::json j = json("npy/shots.json");
  const auto nt = j["time_steps"].get<std::int64_t>();
  const auto nrec = j["receivers"].get<std::int64_t>();
  EXPECT_EQ(nrec, 61);
  ASSERT_EQ(j["shots"].size(), 2u);
  for (int s = 1; s <= 2; ++s) {
    SCOPED_TRACE(s);
    char name[32];
    std::snprintf(name, sizeof name, "shot_%03d", s);
    const tenet::Array d = tenet::read_npy(path(std::string("npy/") + name + ".npy").string());
    ASSERT_EQ(d.shape, (std::vector<std::int64_t>{nt, nrec}));
    double peak = 0;
    for (double v : d.data) {
      ASSERT_TRUE(std::isfinite(v));
      peak = std::max(peak, std::fabs(v));
    }
    EXPECT_GT(peak, 0.0);
    const tenet::ShotRecord r = tenet::read_segy_shot(path(std::string("segy/") + name + ".segy").string());
    EXPECT_EQ(r.nt, nt);
    EXPECT_EQ(r.nrec, nrec);
    EXPECT_NEAR(r.dt, j["dt_ms"].get<double>(), 1e-9);
    EXPECT_EQ(r.shot_id, s);
    ASSERT_EQ(r.source.size(), 2u);
    EXPECT_NEAR(r.source[0], j["shots"][static_cast<std::size_t>(s - 1)]["source_m"][0].get<double>(), 1e-3);
    ASSERT_EQ(r.data.size(), d.data.size());
    for (std::size_t i = 0; i < d.data.size(); ++i) ASSERT_EQ(static_cast<float>(r.data[i]), static_cast<float>(d.data[i])) << i;
    EXPECT_TRUE(is_png(path(std::string("npy/") + name + ".png")));
    EXPECT_TRUE(is_png(path(std::string("segy/") + name + ".png")));
  }
  // The two shots differ (the source moved).
  EXPECT_NE(tenet::read_npy(path("npy/shot_001.npy").string()).data, tenet::read_npy(path("npy/shot_002.npy").string()).data);
  expect_no_temporary_files();
}

TEST_F(Cli, ModelWritesTheModelsAndWarnsAboutCoarseGrids) {
  Result r = tenet("model " + kSmall + " --segy");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("points per shortest wavelength"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  const tenet::Array truth = tenet::read_npy(path("out/true_model.npy").string());
  const tenet::Array start = tenet::read_npy(path("out/initial_model.npy").string());
  ASSERT_EQ(truth.shape, (std::vector<std::int64_t>{61, 31}));
  ASSERT_EQ(start.shape, truth.shape);
  EXPECT_NE(truth.data, start.data);
  for (double v : truth.data) ASSERT_TRUE(v >= 1.4 && v <= 5.0) << v;
  const tenet::SegyModel s = tenet::read_segy_model(path("out/true_model.segy").string());
  EXPECT_EQ(s.shape, truth.shape);
  ASSERT_EQ(s.values.size(), truth.data.size());
  for (std::size_t i = 0; i < s.values.size(); ++i) ASSERT_FLOAT_EQ(static_cast<float>(s.values[i]), static_cast<float>(truth.data[i]));
  EXPECT_TRUE(is_png(path("out/true_model.png")));
  EXPECT_TRUE(is_png(path("out/initial_model.png")));
  EXPECT_TRUE(fs::exists(path("out/initial_model.segy")));
  // A model file round trip: what `tenet model` wrote is a valid --model.
  Result again = tenet("model --model out/true_model.npy --nbl 10 --out again");
  ASSERT_EQ(again.rc, 0) << again.output;
  EXPECT_EQ(tenet::read_npy(path("again/true_model.npy").string()).data, truth.data);
  // Too coarse a grid for the frequency: a warning that says what to change.
  Result coarse = tenet("model " + kSmall + " --f0 0.03 --out coarse");
  ASSERT_EQ(coarse.rc, 0) << coarse.output;
  EXPECT_NE(coarse.output.find("warning: only"), std::string::npos) << coarse.output;
  EXPECT_NE(coarse.output.find("use a spacing <="), std::string::npos) << coarse.output;
  expect_no_temporary_files();
}

TEST_F(Cli, SettingsComeFromATomlFileAndTheCommandLineWins) {
  write_text("survey.toml", "model = \"circle\"\nshape = [61, 31]\nnbl = 10\ntn = 300.0\nshots = 3\nquiet = false\n");
  Result r = tenet("forward --config survey.toml --shots 2");
  ASSERT_EQ(r.rc, 0) << r.output;
  nlohmann::json j = json("out/shots.json");
  EXPECT_EQ(j["model"], "circle");
  EXPECT_EQ(j["shape"], nlohmann::json::array({61, 31}));
  EXPECT_EQ(j["shots"].size(), 2u);  // the command line's, not the file's 3
}

// TOML as the standard has it: comments, '#' inside strings, literal strings, arrays over
// lines, underscores in numbers; a key given twice is an error naming the line.
TEST_F(Cli, ConfigFilesAreReadAsTheTomlStandardHasThem) {
  write_text("full.toml",
             "# a survey\n"
             "model = 'circle'        # literal string\n"
             "out = \"out#1\"          # '#' inside a string is not a comment\n"
             "shape = [\n  61,\n  31,  # two sizes\n]\n"
             "nbl = 1_0\n"
             "tn = 3e2\n"
             "quiet = true\n");
  Result r = tenet("model --config full.toml");
  ASSERT_EQ(r.rc, 0) << r.output;
  nlohmann::json j = json("out#1/model.json");
  EXPECT_EQ(j["model"], "circle");
  EXPECT_EQ(j["shape"], nlohmann::json::array({61, 31}));
  write_text("twice.toml", "nbl = 10\nshape = [61, 31]\nnbl = 20\n");
  r = tenet("model --config twice.toml");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("line 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nbl"), std::string::npos) << r.output;
  write_text("bad.toml", "model = \"circle\nshape = [61, 31]\n");  // unterminated string
  r = tenet("model --config bad.toml");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("not valid TOML at line 1"), std::string::npos) << r.output;
}

// ---- Bad configuration: non-zero exit and a message naming the setting ----------------------

struct BadCase {
  const char *what;
  std::string args;
  std::vector<std::string> message;  // all must appear
};

TEST_F(Cli, BadConfigurationNamesTheSetting) {
  // A velocity model file with a negative velocity, and a TOML file with an unknown key.
  tenet::Array bad{{20, 12}, std::vector<double>(240, 2000.0)};
  bad.data[5 * 12 + 7] = -1500.0;
  tenet::write_npy(path("negative.npy").string(), bad);
  tenet::write_npy(path("flat.npy").string(), tenet::Array{{1, 40}, std::vector<double>(40, 2000.0)});
  write_text("unknown.toml", "shape = [61, 31]\nnbl = 10\nshots = 2\nsource_spacing = 25\n");
  const std::vector<BadCase> cases = {
      {"unstable dt", kSmall + " --dt 5", {"--dt", "unstable", "use dt <="}},
      {"receivers below the model", kSmall + " --depth 5000", {"--depth", "below the model"}},
      {"negative depth", kSmall + " --depth -20", {"--depth"}},
      {"negative velocity", "--model negative.npy --nbl 4 --tn 100", {"--model", "velocity -1.5", "positive"}},
      {"a model one point thick", "--model flat.npy --nbl 4 --tn 100", {"--model flat.npy", "(1,40)", "at least 2 points"}},
      {"unknown TOML key", "--config unknown.toml", {"unknown.toml", "unknown setting 'source_spacing'"}},
      {"one size in --shape", "--model circle --shape 61 --nbl 10", {"--shape"}},
      {"four sizes in --shape", "--model circle --shape 61,31,20,20 --nbl 10", {"--shape", "got 4 (61,31,20,20)"}},
      {"--shape given twice", "--model circle --shape 61,31 --shape 41,21 --nbl 10", {"--shape", "give it once"}},
      {"tiny --shape", "--shape 61,4 --nbl 10", {"--shape", "at least 8"}},
      {"not a number in --shape", "--shape 61,abc", {"--shape"}},
      {"2D model with a 3D --shape", "--model marmousi --shape 61,31,20", {"--shape", "marmousi"}},
      {"unknown model", "--model granite", {"--model", "granite"}},
      {"non-positive spacing", kSmall + " --spacing 0", {"--spacing", "> 0"}},
      {"missing config file", "--config nothere.toml", {"--config", "nothere.toml"}},
      {"a recording time of 10^30 ms", "--shape 61,31 --nbl 10 --shots 2 --tn 1e30", {"time steps", "10^8"}},
      {"negative threads", kSmall + " --threads -3", {"--threads"}},
      {"unknown units", kSmall + " --units furlongs", {"--units", "furlongs"}},
      {"odd space order", kSmall + " --space-order 3", {"--space-order", "even"}},
  };
  for (const char *command : {"model", "forward", "gradient", "check"}) {
    for (const BadCase &c : cases) {
      SCOPED_TRACE(std::string(command) + ": " + c.what);
      fs::remove_all(path(std::string("out_") + command));
      Result r = tenet(std::string(command) + " " + c.args + " --out out_" + command);
      EXPECT_NE(r.rc, 0) << r.output;
      for (const auto &m : c.message) EXPECT_NE(r.output.find(m), std::string::npos) << "want '" << m << "' in:\n" << r.output;
      EXPECT_LT(r.output.size(), 2000u) << "a short message, not a dump";
      EXPECT_FALSE(fs::exists(path(std::string("out_") + command))) << "the output directory was created before the checks";
    }
    // Nothing half-done was left behind.
    EXPECT_FALSE(fs::exists(path(std::string("out_") + command + "/summary.json")));
  }
  for (const char *command : {"model", "gradient", "check"}) {  // the ones with a starting model
    Result r = tenet(std::string(command) + " " + kSmall + " --smooth 1e9 --out out_smooth");
    EXPECT_NE(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("longest side"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(path("out_smooth")));
  }
  // Settings of another subcommand are unknown here; the message lists the valid ones.
  write_text("fwi.toml", "iterations = 3\n");
  Result r = tenet("gradient --config fwi.toml");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("unknown setting 'iterations'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("memory"), std::string::npos) << r.output;
  expect_no_temporary_files();
}

TEST_F(Cli, AFailedWriteLeavesNoPartialFile) {
  // A time step too long for SEG-Y's 16-bit microsecond field: the writer refuses the first
  // shot; neither the file nor a temporary one may be left behind.
  Result r = tenet("forward --model circle --shape 21,12 --spacing 400 --nbl 4 --f0 0.0005 --tn 2000 --shots 1 "
                   "--format segy");
  EXPECT_NE(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("tenet: error"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("out/shot_001.segy")));
  expect_no_temporary_files();
}

}  // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TENET_EXECUTABLE WORK_DIRECTORY [gtest options]\n", argv[0]);
    return 2;
  }
  g_tenet = argv[1];
  g_work = argv[2];
  fs::create_directories(g_work);
  return RUN_ALL_TESTS();
}
