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
  /// Of the saves and loads, those done in place (Checkpointable's checkpoints by reference):
  /// slots the forward wrote into and slots the reverse read where they lie, without a copy.
  std::int64_t saves_in_place = 0, loads_in_place = 0;
  std::int64_t reverse_windows = 0;      ///< runs of steps reversed in one pass (Checkpointable)
  /// Of the windows, those that read their first state in the slot a Load restores it from
  /// (that load counted in place).
  std::int64_t windows_from_slots = 0;
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
///
/// Checkpoints by reference (`by_reference`, where the object and the storage have them; see
/// Checkpointable): a slot restored only for the reverse step of its state is read where it
/// lies, and a run that recomputes states t0+1 .. t1 saving each only for its reverse step
/// runs as one window: the forward writes the slots in place and the reverse steps t1 .. t0
/// run in one call. Same actions, same counts (saves_in_place and loads_in_place say which
/// were done so), same results; the window's last level takes a slot of its own for its
/// duration, only where it fits within the schedule's slots of one state each.
ExecutionStats execute_schedule(const Schedule &schedule, Checkpointable &object,
                                CheckpointStorage &memory, CheckpointStorage *disk = nullptr,
                                bool by_reference = true);

/// Runs an online Revolve with `snapshots` slots of `storage`: steps forward while
/// `keep_going(t)` (called with the object holding state t) returns true, then reverses all
/// steps taken (its reversal with checkpoints by reference as execute_schedule's, unless
/// `by_reference` is false). Needs at least one step.
ExecutionStats execute_online(int snapshots, Checkpointable &object, CheckpointStorage &storage,
                              const std::function<bool(int)> &keep_going, bool by_reference = true);

}  // namespace tenet
