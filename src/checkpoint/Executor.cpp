#include "checkpoint/Executor.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "support/Error.h"

namespace tenet {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class Runner {
 public:
  Runner(Checkpointable &object, CheckpointStorage &memory, CheckpointStorage *disk)
      : object_(object) {
    storage_[kMemoryLevel] = &memory;
    storage_[kDiskLevel] = disk;
  }

  // Runs `actions`; prefetches per `prefetch_after` (may be empty).
  void run(const std::vector<Action> &actions,
           const std::vector<std::vector<std::pair<int, int>>> &prefetch_after) {
    const std::vector<bool> reverse_only = reverse_only_saves(actions);
    if (!prefetch_after.empty()) issue(prefetch_after[0]);
    for (std::size_t i = 0; i < actions.size(); ++i) {
      execute(actions[i], reverse_only[i]);
      if (!prefetch_after.empty()) issue(prefetch_after[i + 1]);
    }
  }

  // For each action: a Save whose slot is restored (until it is saved again or freed) only
  // right before a reverse step of the same state. Such a checkpoint holds only what that
  // reverse step reads (Checkpointable::reverse_state_at). With many snapshots Revolve
  // restores nearly every state this way: 936 of 945 loads for 946 steps and 106 snapshots.
  static std::vector<bool> reverse_only_saves(const std::vector<Action> &actions) {
    std::vector<bool> only(actions.size(), false);
    std::map<std::pair<int, int>, std::size_t> open;  // slot -> index of the Save holding it
    for (std::size_t i = 0; i < actions.size(); ++i) {
      const Action &a = actions[i];
      const std::pair<int, int> slot{a.level, a.slot};
      if (a.kind == ActionKind::Save) {
        only[i] = true;
        open[slot] = i;
      } else if (a.kind == ActionKind::Free) {
        open.erase(slot);
      } else if (a.kind == ActionKind::Load) {
        auto it = open.find(slot);
        if (it == open.end()) continue;
        const bool reverses = i + 1 < actions.size() && actions[i + 1].kind == ActionKind::Reverse &&
                              actions[i + 1].t0 == a.t0;
        if (!reverses) only[it->second] = false;
      }
    }
    return only;
  }

  void execute(const Action &a, bool reverse_only = false) {
    const Clock::time_point start = Clock::now();
    switch (a.kind) {
      case ActionKind::Advance:
        object_.forward(a.t0, a.t1);
        stats_.seconds_forward += seconds_since(start);
        stats_.forward_steps += a.t1 - a.t0;
        stats_.recomputed_steps += std::max(0, std::min(a.t1, reached_) - a.t0);
        reached_ = std::max(reached_, a.t1);
        return;
      case ActionKind::Save:
        storage(a.level).save(a.slot, reverse_only ? object_.reverse_state_at(a.t0) : object_.state_at(a.t0));
        held_.insert({a.level, a.slot});
        reverse_only_slot_[{a.level, a.slot}] = reverse_only;
        stats_.seconds_save += seconds_since(start);
        ++stats_.saves[a.level];
        ++stats_.snapshots_stored;
        return;
      case ActionKind::Load:
        storage(a.level).load(a.slot, reverse_only_slot_[{a.level, a.slot}] ? object_.reverse_state_at(a.t0)
                                                                            : object_.state_at(a.t0));
        stats_.seconds_load += seconds_since(start);
        ++stats_.loads[a.level];
        return;
      case ActionKind::Reverse:
        object_.reverse(a.t0, a.t0 + 1);
        stats_.seconds_reverse += seconds_since(start);
        ++stats_.reverse_steps;
        return;
      case ActionKind::Free:
        storage(a.level).free(a.slot);
        held_.erase({a.level, a.slot});
        stats_.seconds_save += seconds_since(start);
        return;
    }
  }

  void finish() {
    const Clock::time_point start = Clock::now();
    for (CheckpointStorage *s : storage_) {
      if (s) s->finish();
    }
    stats_.seconds_save += seconds_since(start);
    stats_.peak_bytes_memory = storage_[kMemoryLevel]->peak_bytes();
    stats_.peak_bytes_disk = storage_[kDiskLevel] ? storage_[kDiskLevel]->peak_bytes() : 0;
  }

  // After an error: release whatever is still held, ignoring further errors.
  void release_all() noexcept {
    for (const auto &[level, slot] : held_) {
      try {
        storage(level).free(slot);
      } catch (...) {
      }
    }
    held_.clear();
  }

  ExecutionStats &stats() { return stats_; }

 private:
  CheckpointStorage &storage(int level) {
    TENET_USER_CHECK(storage_[level] != nullptr, "checkpoint executor: the schedule uses ",
                     level == kDiskLevel ? "disk" : "memory",
                     " slots but no storage was given for that level");
    return *storage_[level];
  }

  // Starting a prefetch is part of loading; timed as such so it never hides in the overhead.
  void issue(const std::vector<std::pair<int, int>> &loads) {
    if (loads.empty()) return;
    const Clock::time_point start = Clock::now();
    for (const auto &[level, slot] : loads) storage(level).prefetch(slot);
    stats_.seconds_load += seconds_since(start);
  }

  Checkpointable &object_;
  CheckpointStorage *storage_[2] = {nullptr, nullptr};
  std::set<std::pair<int, int>> held_;
  std::map<std::pair<int, int>, bool> reverse_only_slot_;  // how each slot was last saved
  ExecutionStats stats_;
  int reached_ = 0;
};

// For each action index i, the loads to prefetch after action i-1 (index 0: before the first).
// A load may be prefetched once its slot's last save/free before it has run, and after the
// previous load on its level, so at most one prefetch per level is outstanding.
std::vector<std::vector<std::pair<int, int>>> plan_prefetches(const std::vector<Action> &actions) {
  std::vector<std::vector<std::pair<int, int>>> after(actions.size() + 1);
  std::map<std::pair<int, int>, std::size_t> last_write;  // index + 1 of last save/free
  std::size_t previous_load[2] = {0, 0};                  // index + 1 of previous load
  for (std::size_t k = 0; k < actions.size(); ++k) {
    const Action &a = actions[k];
    if (a.kind == ActionKind::Save || a.kind == ActionKind::Free) {
      last_write[{a.level, a.slot}] = k + 1;
    } else if (a.kind == ActionKind::Load) {
      const std::size_t ready =
          std::max(last_write[{a.level, a.slot}], previous_load[a.level]);
      after[ready].push_back({a.level, a.slot});
      previous_load[a.level] = k + 1;
    }
  }
  return after;
}

}  // namespace

ExecutionStats execute_schedule(const Schedule &schedule, Checkpointable &object,
                                CheckpointStorage &memory, CheckpointStorage *disk) {
  const ScheduleCost cost = analyze_schedule(schedule);
  TENET_USER_CHECK(cost.saves[kDiskLevel] == 0 || disk != nullptr, "checkpoint executor: schedule '",
                   schedule.name, "' saves to ", schedule.slots[kDiskLevel],
                   " disk slots but no disk storage was given; pass one (DiskStorage)");
  const Clock::time_point start = Clock::now();
  Runner runner(object, memory, disk);
  try {
    runner.run(schedule.actions, plan_prefetches(schedule.actions));
    runner.finish();
  } catch (...) {
    runner.release_all();
    throw;
  }
  ExecutionStats &stats = runner.stats();
  stats.steps = schedule.steps;
  stats.seconds_total = seconds_since(start);
  return stats;
}

ExecutionStats execute_online(int snapshots, Checkpointable &object, CheckpointStorage &storage,
                              const std::function<bool(int)> &keep_going) {
  const Clock::time_point start = Clock::now();
  OnlineRevolve online(snapshots);
  Runner runner(object, storage, nullptr);
  try {
    while (keep_going(online.steps())) {
      for (const Action &a : online.next_step()) runner.execute(a);
    }
    TENET_USER_CHECK(online.steps() >= 1, "online checkpointing: the forward stopped before its "
                     "first step; a run needs at least one step");
    const std::vector<Action> reversal = online.stop();
    runner.run(reversal, plan_prefetches(reversal));
    runner.finish();
  } catch (...) {
    runner.release_all();
    throw;
  }
  ExecutionStats &stats = runner.stats();
  stats.steps = online.steps();
  stats.seconds_total = seconds_since(start);
  return stats;
}

}  // namespace tenet
