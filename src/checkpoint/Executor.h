/** \file Executor.h  Runs a checkpoint schedule against a Checkpointable, with storages. */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "checkpoint/Checkpointable.h"
#include "checkpoint/Schedule.h"
#include "checkpoint/Storage.h"

namespace tenet {

/// What a run did and where its time went. Counts use the definitions of ScheduleCost, so for
/// an offline schedule they equal analyze_schedule's prediction.
struct ExecutionStats {
  int steps = 0;                         ///< N
  std::int64_t forward_steps = 0;        ///< steps advanced (first sweep + recomputed)
  std::int64_t recomputed_steps = 0;     ///< advanced steps that re-created a state
  std::int64_t reverse_steps = 0;
  std::int64_t snapshots_stored = 0;     ///< saves on all levels
  std::int64_t saves[2] = {0, 0};        ///< per level (memory, disk)
  std::int64_t loads[2] = {0, 0};
  std::size_t peak_bytes_memory = 0;     ///< peak of the level-0 storage
  std::size_t peak_bytes_disk = 0;       ///< peak of the level-1 storage (0 without one)
  double seconds_forward = 0, seconds_reverse = 0, seconds_save = 0, seconds_load = 0;
  double seconds_total = 0;
  /// Time not spent in forward, reverse, save or load: the runtime's own cost.
  double seconds_overhead() const {
    return seconds_total - seconds_forward - seconds_reverse - seconds_save - seconds_load;
  }
};

/// Runs `schedule` (checked with analyze_schedule first) on `object`, which must hold state 0.
/// Level-0 slots go to `memory`, level-1 slots to `disk` (needed only when the schedule has
/// disk slots; any CheckpointStorage works on either level). Loads on asynchronous storages
/// are prefetched as early as the schedule allows. Saves/loads time includes waiting for the
/// storages' background work at the end. On an error every slot still held is freed before the
/// error propagates.
ExecutionStats execute_schedule(const Schedule &schedule, Checkpointable &object,
                                CheckpointStorage &memory, CheckpointStorage *disk = nullptr);

/// Runs an online Revolve with `snapshots` slots of `storage`: steps forward while
/// `keep_going(t)` (called with the object holding state t) returns true, then reverses all
/// steps taken. Needs at least one step.
ExecutionStats execute_online(int snapshots, Checkpointable &object, CheckpointStorage &storage,
                              const std::function<bool(int)> &keep_going);

}  // namespace tenet
