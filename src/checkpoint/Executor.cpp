#include "checkpoint/Executor.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <optional>
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

using SlotKey = std::pair<int, int>;  // (level, slot)

// For each action index i, the loads to prefetch after action i-1 (index 0: before the first).
// A load may be prefetched once its slot's last save/free before it has run, and after the
// previous load on its level, so at most one prefetch per level is outstanding. Actions marked
// in `skip` (windows: their slots are read in place) are left out.
std::vector<std::vector<SlotKey>> plan_prefetches(const std::vector<Action> &actions, const std::vector<bool> &skip) {
  std::vector<std::vector<SlotKey>> after(actions.size() + 1);
  std::map<SlotKey, std::size_t> last_write;  // index + 1 of last save/free
  std::size_t previous_load[2] = {0, 0};      // index + 1 of previous load
  for (std::size_t k = 0; k < actions.size(); ++k) {
    if (skip[k]) continue;
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

// A run of actions the object can take as one reverse window (Checkpointable): with it holding
// state t0, the schedule advances one step at a time to t1, saving every state in between only
// to restore it right before its own reverse step, reverses t1, then restores and reverses t1-1
// down to t0. Actions [begin, end): `leading` saves of state t0 (run as usual), `in_place` the
// saves of t0+1 .. t1-1 (the window writes them into the slots), `frees` run after it.
struct Window {
  std::size_t begin = 0, end = 0;
  int t0 = 0, t1 = 0;
  std::vector<std::size_t> leading, in_place, frees;
};

bool is(const std::vector<Action> &acts, std::size_t k, ActionKind kind) {
  return k < acts.size() && acts[k].kind == kind;
}

// The window starting at action i when the object then holds state `held` (-1: unknown).
std::optional<Window> match_window(const std::vector<Action> &acts, std::size_t i, int held,
                                   const std::vector<bool> &reverse_only) {
  if (held < 0) return std::nullopt;
  Window w;
  w.begin = i;
  w.t0 = held;
  std::size_t j = i;
  for (; is(acts, j, ActionKind::Save) && acts[j].t0 == held; ++j) w.leading.push_back(j);
  int k = held;
  std::map<int, SlotKey> slot_of;  // state -> slot saved in the window
  while (is(acts, j, ActionKind::Advance) && acts[j].t0 == k && acts[j].t1 == k + 1) {
    ++k;
    ++j;
    if (is(acts, j, ActionKind::Reverse)) break;
    if (!is(acts, j, ActionKind::Save) || acts[j].t0 != k || !reverse_only[j]) return std::nullopt;
    slot_of[k] = {acts[j].level, acts[j].slot};
    w.in_place.push_back(j++);
  }
  if (k == held || !is(acts, j, ActionKind::Reverse) || acts[j].t0 != k) return std::nullopt;
  w.t1 = k;
  ++j;
  for (int next = k - 1; next >= held; --next) {
    for (; is(acts, j, ActionKind::Free); ++j) w.frees.push_back(j);
    if (!is(acts, j, ActionKind::Load) || acts[j].t0 != next || !is(acts, j + 1, ActionKind::Reverse) ||
        acts[j + 1].t0 != next)
      return std::nullopt;
    if (next > held && slot_of.at(next) != SlotKey{acts[j].level, acts[j].slot}) return std::nullopt;
    j += 2;
  }
  // Afterwards the object's buffers hold no particular state: only a load (or the end) may come.
  std::size_t after = j;
  while (is(acts, after, ActionKind::Free)) ++after;
  if (after < acts.size() && acts[after].kind != ActionKind::Load) return std::nullopt;
  w.end = j;
  return w;
}

// The windows of `acts` in order, for an object holding state `held` before the first action.
std::vector<Window> find_windows(const std::vector<Action> &acts, int held, const std::vector<bool> &reverse_only) {
  std::vector<Window> out;
  for (std::size_t i = 0; i < acts.size();) {
    if (auto w = match_window(acts, i, held, reverse_only)) {
      i = w->end;
      held = -1;
      out.push_back(std::move(*w));
      continue;
    }
    const Action &a = acts[i++];
    if (a.kind == ActionKind::Advance) held = held == a.t0 ? a.t1 : -1;
    else if (a.kind == ActionKind::Load) held = a.t0;
    else if (a.kind == ActionKind::Reverse) held = -1;
  }
  return out;
}

class Runner {
 public:
  Runner(Checkpointable &object, CheckpointStorage &memory, CheckpointStorage *disk)
      : object_(object) {
    storage_[kMemoryLevel] = &memory;
    storage_[kDiskLevel] = disk;
  }

  // Runs `actions` with the object holding state `held` (-1: unknown) before the first:
  // checkpoints by reference where the object and the storage take them, the loads of the
  // others prefetched.
  // `slots`: the schedule's memory slots. A window's extra level (reverse step t1's) must fit
  // beside the checkpoints within `slots` whole states (and the storage's budget), the memory
  // the schedule itself may take.
  void run(const std::vector<Action> &actions, int held, int slots, bool by_reference) {
    window_budget_ = static_cast<std::size_t>(std::max(0, slots)) * state_bytes(object_.state_at(0));
    if (storage(kMemoryLevel).budget_bytes() > 0)
      window_budget_ = std::min(window_budget_, storage(kMemoryLevel).budget_bytes());
    const std::vector<bool> reverse_only = reverse_only_saves(actions);
    by_reference = by_reference && storage(kMemoryLevel).by_reference();
    std::vector<Window> windows;
    if (by_reference) windows = find_windows(actions, held, reverse_only);
    int longest = 0;
    for (const Window &w : windows) longest = std::max(longest, w.t1 - w.t0);
    const int most = by_reference ? object_.prepare_by_reference(longest) : -1;
    by_reference_ = most >= 0;
    std::erase_if(windows, [&](const Window &w) { return w.t1 - w.t0 > most; });
    std::vector<bool> in_window(actions.size(), false);
    for (const Window &w : windows)
      for (std::size_t k = w.begin; k < w.end; ++k) in_window[k] = true;
    const auto prefetch_after = plan_prefetches(actions, in_window);
    issue(prefetch_after[0]);
    std::size_t next_window = 0;
    for (std::size_t i = 0; i < actions.size();) {
      std::size_t resume = i + 1;
      if (next_window < windows.size() && windows[next_window].begin == i) {
        resume = run_window(actions, windows[next_window++], reverse_only);
      } else if (next_window < windows.size() && windows[next_window].begin == i + 1 &&
                 starts_window(actions, i, windows[next_window])) {
        resume = run_window_from_slot(actions, i, windows[next_window++], reverse_only);
      } else if (!load_in_place(actions, i)) {
        execute(actions[i], reverse_only[i]);
      } else {
        resume = i + 2;  // the load and its reverse step
      }
      for (; i < resume; ++i) issue(prefetch_after[i + 1]);
    }
  }

  // A load right before the reverse step of its state, from a slot that holds only what that
  // step reads, as a view of the slot instead of a copy. False where not.
  bool load_in_place(const std::vector<Action> &actions, std::size_t i) {
    const Action &a = actions[i];
    if (!by_reference_ || a.kind != ActionKind::Load || !is(actions, i + 1, ActionKind::Reverse) ||
        actions[i + 1].t0 != a.t0 || !reverse_only_slot_[{a.level, a.slot}])
      return false;
    const Clock::time_point start = Clock::now();
    const State levels = storage(a.level).view(a.slot);
    if (levels.empty() || !object_.reverse_from(a.t0, levels)) return false;
    stats_.seconds_reverse += seconds_since(start);
    ++stats_.loads[a.level];
    ++stats_.loads_in_place;
    ++stats_.reverse_steps;
    return true;
  }

  // Action i loads state t0 of window `w`, which comes right after it, from a memory slot that
  // holds the whole state: the window may read it there instead of the object's buffers.
  bool starts_window(const std::vector<Action> &actions, std::size_t i, const Window &w) {
    const Action &a = actions[i];
    return by_reference_ && a.kind == ActionKind::Load && a.t0 == w.t0 && a.level == kMemoryLevel &&
           w.leading.empty() && !reverse_only_slot_[{a.level, a.slot}];
  }

  // Load i and window `w` after it, the window reading state t0 in the load's slot (no copy).
  // Where the window does not run so, the load runs as usual and the window's actions after it.
  std::size_t run_window_from_slot(const std::vector<Action> &actions, std::size_t i, const Window &w,
                                   const std::vector<bool> &reverse_only) {
    const Action &load = actions[i];
    const State start = storage(load.level).view(load.slot);
    const std::size_t resume = start.empty() ? w.begin : run_window(actions, w, reverse_only, &start);
    if (resume == w.end) {
      ++stats_.loads[load.level];
      ++stats_.loads_in_place;
      ++stats_.windows_from_slots;
      return resume;
    }
    execute(load, reverse_only[i]);
    return w.begin;
  }

  // Runs window `w` (its leading saves first) where the storage lends the slots and the object
  // takes it, state t0 read in `t0_state` where given (else the object holds it). Returns the index
  // to go on from: w.end, or the first action after the leading saves when the window did not
  // run (its actions then run as usual, saving into the slots it may have reserved).
  std::size_t run_window(const std::vector<Action> &actions, const Window &w, const std::vector<bool> &reverse_only,
                         const State *t0_state = nullptr) {
    for (std::size_t k : w.leading) execute(actions[k], reverse_only[k]);
    const std::size_t resume = w.leading.empty() ? w.begin : w.leading.back() + 1;
    const Clock::time_point start = Clock::now();
    std::vector<State> levels;
    for (std::size_t k : w.in_place) {
      const Action &a = actions[k];
      levels.push_back(storage(a.level).reserve(a.slot, object_.reverse_state_at(a.t0)));
      if (levels.back().empty()) return resume;
      held_.insert({a.level, a.slot});
      reverse_only_slot_[{a.level, a.slot}] = true;
    }
    // Reverse step t1's levels: in the object's own buffers where state t0 is read in its slot
    // (they hold nothing the window needs), else in a slot of their own for the window's time,
    // within the budget.
    CheckpointStorage &memory = storage(kMemoryLevel);
    const bool scratch = t0_state == nullptr;
    if (scratch) {
      const State last = object_.reverse_state_at(w.t1);
      if (memory.bytes_in_use() + state_bytes(last) > window_budget_) return resume;
      levels.push_back(memory.reserve(kScratchSlot, last));
      if (levels.back().empty()) {
        memory.free(kScratchSlot);
        return resume;
      }
    }
    double forward_seconds = 0;
    bool ran = false;
    try {
      ran = object_.reverse_window(w.t0, w.t1, levels, forward_seconds, t0_state);
    } catch (...) {
      if (scratch) memory.free(kScratchSlot);
      throw;
    }
    if (scratch) memory.free(kScratchSlot);
    if (!ran) return resume;
    const double seconds = seconds_since(start);
    stats_.seconds_forward += forward_seconds;
    stats_.seconds_reverse += seconds - forward_seconds;
    stats_.forward_steps += w.t1 - w.t0;
    stats_.recomputed_steps += std::max(0, std::min(w.t1, reached_) - w.t0);
    reached_ = std::max(reached_, w.t1);
    for (std::size_t k : w.in_place) ++stats_.saves[actions[k].level];
    stats_.snapshots_stored += static_cast<std::int64_t>(w.in_place.size());
    stats_.saves_in_place += static_cast<std::int64_t>(w.in_place.size());
    stats_.loads[kMemoryLevel] += w.t1 - w.t0;
    stats_.loads_in_place += w.t1 - w.t0;
    stats_.reverse_steps += w.t1 - w.t0 + 1;
    ++stats_.reverse_windows;
    for (std::size_t k : w.frees) execute(actions[k], reverse_only[k]);
    return w.end;
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
  void issue(const std::vector<SlotKey> &loads) {
    if (loads.empty()) return;
    const Clock::time_point start = Clock::now();
    for (const auto &[level, slot] : loads) storage(level).prefetch(slot);
    stats_.seconds_load += seconds_since(start);
  }

  Checkpointable &object_;
  CheckpointStorage *storage_[2] = {nullptr, nullptr};
  // A slot no schedule uses, for reverse step t1's levels in a window.
  static constexpr int kScratchSlot = INT_MAX;

  std::set<std::pair<int, int>> held_;
  bool by_reference_ = false;  // the object reverses from slots in place
  std::size_t window_budget_ = 0;  // level-0 bytes checkpoints and a window's extra level may take
  std::map<std::pair<int, int>, bool> reverse_only_slot_;  // how each slot was last saved
  ExecutionStats stats_;
  int reached_ = 0;
};

}  // namespace

ExecutionStats execute_schedule(const Schedule &schedule, Checkpointable &object,
                                CheckpointStorage &memory, CheckpointStorage *disk, bool by_reference) {
  const ScheduleCost cost = analyze_schedule(schedule);
  TENET_USER_CHECK(cost.saves[kDiskLevel] == 0 || disk != nullptr, "checkpoint executor: schedule '",
                   schedule.name, "' saves to ", schedule.slots[kDiskLevel],
                   " disk slots but no disk storage was given; pass one (DiskStorage)");
  const Clock::time_point start = Clock::now();
  Runner runner(object, memory, disk);
  try {
    runner.run(schedule.actions, 0, schedule.slots[kMemoryLevel], by_reference);
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
                              const std::function<bool(int)> &keep_going, bool by_reference) {
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
    runner.run(reversal, -1, snapshots, by_reference);
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
