// `tenet schedule`: prints the cost of a checkpoint/recompute schedule (and optionally its
// actions) without running anything.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "Commands.h"
#include "checkpoint/Schedule.h"
#include "support/Error.h"

namespace tenet::cli {
namespace {

struct ScheduleOptions {
  int steps = 0;
  int snapshots = 0;
  int disk_snapshots = 0;
  double write_cost = 1.0;
  double read_cost = 1.0;
  bool online = false;
  bool store_all = false;
  std::string periodic;  // "" = auto period when the option is given
  bool json = false;
  bool trace = false;
  bool costs_given = false;  // --write-cost or --read-cost on the command line
};

const char *kConvention =
    "the slot holding the initial state (state 0) counts as one of the snapshots; reverse step "
    "t runs with the object holding forward state t and, as in Revolve, includes one evaluation "
    "of forward step t";

const char *describe(const std::string &name) {
  if (name == "revolve") return "Griewank-Walther binomial checkpointing, offline optimal";
  if (name == "online-revolve") {
    return "online: N unknown until stop; the forward advances all N steps; advanced steps "
           "<= offline optimum + N, so evaluations <= 2x offline (tested to N=10,000)";
  }
  if (name == "two-level") {
    return "memory + disk, optimal for the write/read costs among nested-checkpoint schedules";
  }
  if (name == "periodic") return "checkpoint every K steps, store a segment's states to reverse it";
  return "every state stored, no recomputation";
}

void run_schedule(const ScheduleOptions &o, bool periodic_given) {
  TENET_USER_CHECK(o.steps >= 1, "schedule: --steps must be >= 1 (got ", o.steps, ")");
  TENET_USER_CHECK(o.disk_snapshots >= 0, "schedule: --disk-snapshots must be >= 0 (got ",
                   o.disk_snapshots, ")");
  const bool two_level = o.disk_snapshots > 0;
  TENET_USER_CHECK(two_level || !o.costs_given, "schedule: --write-cost and --read-cost are the disk's costs; they "
                   "need --disk-snapshots");
  TENET_USER_CHECK(two_level || o.snapshots >= 1, "schedule: --snapshots must be >= 1 (got ",
                   o.snapshots, "); the initial state takes one snapshot");
  TENET_USER_CHECK(o.snapshots >= 0, "schedule: --snapshots must be >= 0 with disk snapshots (got ",
                   o.snapshots, ")");
  const int kinds = int(o.online) + int(periodic_given) + int(o.store_all) + int(two_level);
  TENET_USER_CHECK(kinds <= 1, "schedule: choose one of --online, --periodic, --store-all and "
                   "--disk-snapshots (two-level)");
  int period = 0;
  if (periodic_given && !o.periodic.empty()) {
    try {
      std::size_t used = 0;
      period = std::stoi(o.periodic, &used);
      TENET_USER_CHECK(used == o.periodic.size(), "");
    } catch (...) {
      throw Error("schedule: --periodic takes an optional positive integer period, got '" +
                  o.periodic + "'");
    }
    TENET_USER_CHECK(period >= 1, "schedule: --periodic K needs K >= 1 (got ", period, ")");
  }

  Schedule s;
  if (two_level) {
    s = two_level_schedule(o.steps, o.snapshots, o.disk_snapshots, o.write_cost, o.read_cost);
  } else if (o.online) {
    s = online_revolve_schedule(o.steps, o.snapshots);
  } else if (periodic_given) {
    s = periodic_schedule(o.steps, o.snapshots, period);
  } else if (o.store_all) {
    s = store_all_schedule(o.steps, o.snapshots);
  } else {
    s = revolve_schedule(o.steps, o.snapshots);
  }
  const ScheduleCost c = analyze_schedule(s);
  const std::int64_t first_sweep = c.advanced_steps - c.recomputed_steps;
  // The offline single-level optimum with the same memory snapshots, for comparison.
  const std::int64_t optimum =
      o.snapshots >= 1 ? internal::revolve_cost(o.steps, o.snapshots) : -1;

  if (o.json) {
    nlohmann::json j;
    j["schedule"] = s.name;
    j["description"] = describe(s.name);
    j["steps"] = s.steps;
    j["snapshots"] = o.snapshots;
    j["disk_snapshots"] = o.disk_snapshots;
    if (two_level) {
      j["write_cost"] = o.write_cost;
      j["read_cost"] = o.read_cost;
    }
    j["initial_state_counts_as_snapshot"] = true;
    j["convention"] = kConvention;
    j["forward_steps_advanced"] = c.advanced_steps;
    j["first_sweep_steps"] = first_sweep;
    j["recomputed_steps"] = c.recomputed_steps;
    j["forward_evaluations"] = c.forward_evaluations;
    j["reverse_steps"] = c.reverse_steps;
    j["peak_snapshots"] = {{"memory", c.peak_slots[kMemoryLevel]},
                           {"disk", c.peak_slots[kDiskLevel]},
                           {"total", c.peak_slots_total}};
    j["saves"] = {{"memory", c.saves[kMemoryLevel]}, {"disk", c.saves[kDiskLevel]}};
    j["loads"] = {{"memory", c.loads[kMemoryLevel]}, {"disk", c.loads[kDiskLevel]}};
    j["weighted_cost"] = c.weighted_cost;
    if (optimum >= 0) j["revolve_optimum_memory_snapshots"] = optimum;
    if (o.trace) {
      nlohmann::json actions = nlohmann::json::array();
      for (const Action &a : s.actions) actions.push_back(format_action(a));
      j["actions"] = actions;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }

  std::printf("schedule: %s (%s)\n", s.name.c_str(), describe(s.name));
  if (two_level) {
    std::printf("steps N = %d, snapshots: %d in memory, %d on disk (write cost %g, read cost %g "
                "forward steps)\n",
                s.steps, o.snapshots, o.disk_snapshots, o.write_cost, o.read_cost);
  } else {
    std::printf("steps N = %d, snapshots S = %d\n", s.steps, o.snapshots);
  }
  std::printf("convention: %s\n", kConvention);
  std::printf("forward steps advanced:         %lld  (first sweep %lld + recomputed %lld; not "
              "counting the step each reverse step evaluates)\n",
              (long long)c.advanced_steps, (long long)first_sweep, (long long)c.recomputed_steps);
  std::printf("total forward step evaluations: %lld  (advanced + one per reverse step)\n",
              (long long)c.forward_evaluations);
  std::printf("reverse steps:                  %lld\n", (long long)c.reverse_steps);
  std::printf("peak snapshots in use:          %d  (memory %d, disk %d; initial state included)\n",
              c.peak_slots_total, c.peak_slots[kMemoryLevel], c.peak_slots[kDiskLevel]);
  std::printf("saves / loads:                  memory %lld / %lld, disk %lld / %lld\n",
              (long long)c.saves[kMemoryLevel], (long long)c.loads[kMemoryLevel],
              (long long)c.saves[kDiskLevel], (long long)c.loads[kDiskLevel]);
  if (two_level) {
    std::printf("weighted cost:                  %g  (advanced + W*disk saves + R*disk loads)\n",
                c.weighted_cost);
  }
  if (optimum >= 0 && s.name != "revolve") {
    std::printf("offline Revolve, %d memory snapshots: %lld advanced steps\n", o.snapshots,
                (long long)optimum);
  }
  if (o.trace) {
    std::printf("actions (%zu):\n", s.actions.size());
    for (const Action &a : s.actions) std::printf("  %s\n", format_action(a).c_str());
  }
}

}  // namespace

void add_schedule_command(CLI::App &app) {
  auto options = std::make_shared<ScheduleOptions>();
  CLI::App *cmd = app.add_subcommand(
      "schedule", "Print the cost of a checkpoint/recompute schedule for the adjoint of N steps "
                  "(the initial state's slot counts as a snapshot)");
  cmd->add_option("--steps", options->steps, "Number of time steps N")->required();
  cmd->add_option("--snapshots", options->snapshots,
                  "Memory snapshots S (the initial state takes one)")
      ->required();
  cmd->add_option("--disk-snapshots", options->disk_snapshots,
                  "Disk snapshots D: selects the two-level memory+disk schedule");
  CLI::Option *write_cost = cmd->add_option("--write-cost", options->write_cost,
                                            "Cost of writing one state to disk, in forward steps (two-level)")
                                ->capture_default_str();
  CLI::Option *read_cost = cmd->add_option("--read-cost", options->read_cost,
                                           "Cost of reading one state from disk, in forward steps (two-level)")
                               ->capture_default_str();
  cmd->add_flag("--online", options->online, "Online Revolve (N unknown during the forward)");
  CLI::Option *periodic = cmd->add_option(
      "--periodic", options->periodic,
      "Periodic checkpoints every K steps (K optional: the smallest that fits S)");
  periodic->expected(0, 1);
  cmd->add_flag("--store-all", options->store_all, "Store every state (needs S >= N-1)");
  cmd->add_flag("--json", options->json, "Print JSON");
  cmd->add_flag("--trace", options->trace, "List the actions");
  cmd->callback([options, periodic, write_cost, read_cost] {
    options->costs_given = write_cost->count() + read_cost->count() > 0;
    run_schedule(*options, periodic->count() > 0);
  });
}

}  // namespace tenet::cli
