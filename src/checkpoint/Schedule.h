/** \file Schedule.h  Checkpoint/recompute schedules as pure functions producing action streams.
 *
 * Conventions (shared by every schedule, the executor and `tenet schedule`):
 *
 * - Steps and states follow Checkpointable.h: state t is the state after t forward steps, step t
 *   maps state t to state t+1, and a run has N steps (states 0..N).
 * - At the start the object holds state 0, and nothing is stored.
 * - `Reverse t` runs the adjoint of step t; it is issued only when the object holds state t.
 *   Afterwards the object's forward state is unspecified, so the next action that needs a
 *   state is a `Load`. In the Griewank-Walther cost model a reverse step first evaluates
 *   forward step t (to record what the adjoint reads), so every reverse step also counts as one
 *   forward step evaluation: total forward evaluations = advanced steps + N. (An adjoint that
 *   reads only state t needs no such step; the acoustic gradient summed by parts is one, and
 *   OperatorCheckpointable then skips it: forward evaluations = advanced steps + 1.)
 * - Snapshot counting: **the slot holding the initial state counts as a snapshot.** With S
 *   snapshots, state 0 takes one slot and S-1 remain for intermediate states; S = 1 is valid
 *   (reverse each step by re-advancing from state 0). This is the convention of Griewank and
 *   Walther's Revolve: S snapshots reverse up to beta(S, r) = C(S+r, S) steps with r repetitions.
 * - "Advanced steps" counts every step taken by `Advance` actions, including the first sweep
 *   (0 -> N-1); "recomputed steps" are the advanced steps that produced a state already
 *   reached before (advanced - (N-1) for schedules that sweep to N-1; the online schedule
 *   sweeps to N because N is only known when the user stops).
 * - Slots live on a level: 0 = memory (saves and loads cost nothing in the cost model), 1 = disk
 *   (write cost W and read cost R, in units of one forward step).
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenet {

enum class ActionKind { Advance, Save, Load, Reverse, Free };

/// One instruction of a schedule. Fields used per kind:
/// Advance: t0 -> t1 (t1 > t0). Save/Load: `level`, `slot`, state `t0`. Reverse: step `t0`.
/// Free: `level`, `slot`.
struct Action {
  ActionKind kind = ActionKind::Advance;
  int t0 = 0;
  int t1 = 0;
  int level = 0;
  int slot = 0;
};

inline constexpr int kMemoryLevel = 0;
inline constexpr int kDiskLevel = 1;
/// The most steps a schedule may have: schedules are lists of actions, about 130 bytes a step
/// (10^7 steps: 1.3 GB); wave-equation adjoints run 10^3 to 10^5.
inline constexpr int kMostScheduleSteps = 10000000;

/// A complete schedule: reverses all `steps` steps using at most `slots[level]` slots per level.
struct Schedule {
  std::string name;  ///< "store-all", "revolve", "online-revolve", "two-level", "periodic"
  int steps = 0;
  int slots[2] = {0, 0};     ///< snapshots per level (memory, disk), initial state included
  double write_cost = 0.0;   ///< cost of one disk save, in forward steps
  double read_cost = 0.0;    ///< cost of one disk load, in forward steps
  std::vector<Action> actions;
};

/// What a schedule costs, found by replaying its actions (see analyze_schedule).
struct ScheduleCost {
  std::int64_t advanced_steps = 0;       ///< steps taken by Advance actions (first sweep included)
  std::int64_t recomputed_steps = 0;     ///< advanced steps that re-created an already seen state
  std::int64_t reverse_steps = 0;
  std::int64_t forward_evaluations = 0;  ///< advanced_steps + reverse_steps (see file comment)
  std::int64_t saves[2] = {0, 0};
  std::int64_t loads[2] = {0, 0};
  int peak_slots[2] = {0, 0};            ///< most slots in use at once, per level
  int peak_slots_total = 0;
  /// advanced_steps + write_cost * saves[disk] + read_cost * loads[disk].
  double weighted_cost = 0.0;
};

/// Replays `schedule` symbolically and checks that it is valid: slots within bounds and filled
/// when loaded, every Reverse issued when the object holds exactly that state, steps reversed
/// exactly once in the order N-1 .. 0, and every slot freed at the end. Throws tenet::Error
/// naming the first bad action otherwise.
ScheduleCost analyze_schedule(const Schedule &schedule);

/// Saves every state 0..N-1 (N snapshots); no recomputation. `snapshots` must be >= N.
Schedule store_all_schedule(int steps, int snapshots);

/// Revolve (Griewank-Walther binomial checkpointing): the fewest advanced steps possible for N
/// steps and S memory snapshots, namely r*N - C(S+r, S+1) where r is the least integer with
/// C(S+r, S) >= N (S >= N-1 gives N-1).
Schedule revolve_schedule(int steps, int snapshots);

/// Checkpoints every `period` steps in the first sweep; each segment is then re-advanced once
/// from its checkpoint while every state in it is saved, and reversed. Needs
/// ceil(N/period) + period - 1 snapshots; `period` = 0 picks the smallest period that fits in
/// `snapshots`. About 2N advanced steps.
Schedule periodic_schedule(int steps, int snapshots, int period = 0);

/// Two-level schedule with `memory_slots` memory snapshots (free to save and load) and
/// `disk_slots` disk snapshots (write cost W, read cost R per state, in forward steps).
/// Minimises advanced_steps + W*disk saves + R*disk loads by dynamic programming over all
/// schedules with nested checkpoints (each checkpoint lives until the steps after it are
/// reversed: the structure of Revolve, disk-revolve and H-Revolve), including copying a disk
/// checkpoint into memory and moving a memory checkpoint to disk. The initial state is saved to
/// whichever level is cheaper overall and counts as a snapshot of that level.
/// Work is O(N^2 * (memory_slots+1) * (disk_slots+1)); larger problems are refused with an error.
Schedule two_level_schedule(int steps, int memory_slots, int disk_slots, double write_cost,
                            double read_cost);

/// Online Revolve: for a run whose number of steps is unknown until the user stops it.
///
/// Forward phase: for a guessed length beta(S, r) (r = 1, 2, ...) it checkpoints exactly where
/// offline Revolve's first sweep for that length would; when the run outgrows the guess it
/// moves to r+1, whose first checkpoint is the current state, and keeps older checkpoints while
/// slots remain. At stop, the reversal is planned offline for the checkpoints held (choosing
/// which to keep by dynamic programming; beyond 256 held checkpoints, the cheaper of keeping
/// all or only the current guess's grid) and each segment is reversed with binomial Revolve.
/// Bound (tested for N up to 10,000 and S up to 32): advanced steps <= the offline Revolve
/// optimum + N, i.e. at most one extra forward sweep, the price of not knowing N (the forward
/// phase advances all N steps); so forward evaluations <= 2x the offline optimum's, and in
/// practice much closer for large N (the tests print the worst ratio).
class OnlineRevolve {
 public:
  explicit OnlineRevolve(int snapshots);
  /// The actions taking the object from state steps() to steps()+1 (possibly a Free and a Save,
  /// then one Advance).
  std::vector<Action> next_step();
  /// The forward is over with the object holding state steps(): returns the reversal actions.
  /// May be called once; steps() must be >= 1.
  std::vector<Action> stop();
  int steps() const { return t_; }
  int snapshots() const { return snapshots_; }

 private:
  struct Held {
    int t;
    int slot;
  };
  int free_slot();

  int snapshots_;
  int t_ = 0;
  int r_ = 1;              // current repetition guess
  std::int64_t next_grid_ = 0;  // position of the next grid point of the current guess
  int grid_index_ = 0;          // index of that grid point (0 .. snapshots-1)
  std::vector<Held> held_;  // sorted by t
  std::vector<bool> slot_used_;
  bool stopped_ = false;
};

/// The whole action stream of an online run stopped after `steps` steps.
Schedule online_revolve_schedule(int steps, int snapshots);

/// One line describing an action ("advance 3 -> 7", "save state 3 to memory slot 1", ...).
std::string format_action(const Action &action);

namespace internal {

/// C(s + r, s), saturated at 2^62 to avoid overflow.
std::int64_t beta(int s, int r);
/// The least r with beta(s, r) >= steps (s >= 1, steps >= 1).
int repetition_number(std::int64_t steps, int s);
/// Offline optimum of advanced steps for `steps` steps and `s` snapshots (initial one included).
std::int64_t revolve_cost(std::int64_t steps, int s);
/// The cost (advanced steps + W*writes + R*reads) of two_level_schedule with these arguments.
double two_level_cost(int steps, int memory_slots, int disk_slots, double write_cost,
                      double read_cost);

/// Appends the Revolve actions reversing steps [b, e) with state b stored in (level, base_slot)
/// and `free_slots` more slots of that level; `hot` when the object already holds state b.
/// Frees base_slot at the end.
void append_revolve(std::vector<Action> &out, int b, int e, int level, int base_slot,
                    std::vector<int> free_slots, bool hot);

}  // namespace internal
}  // namespace tenet
