/** \file Gradient.h  The FWI gradient: J(m) = 0.5 * ||P_r u(m) - d||^2 and dJ/dm in one call,
 * with the whole forward history in memory or through any checkpoint schedule.
 *
 * Two parts:
 * - OperatorCheckpointable: the adapter between the checkpointing runtime (checkpoint/) and a
 *   forward Operator with its adjoint DerivativeOperator, for any forward equations that advance
 *   TimeFunctions with modulo time buffers.
 * - FwiGradient / compute_gradient: the objective and its gradient, for the acoustic example or
 *   any GradientProblem, with a choice of strategy (full history, store-all, Revolve,
 *   two-level memory+disk, periodic). Every checkpointed strategy gives bitwise the gradient of
 *   the store-all one: the same forward and adjoint steps run on the same states.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ad/Differentiate.h"
#include "checkpoint/Checkpointable.h"
#include "checkpoint/Executor.h"
#include "checkpoint/Schedule.h"
#include "checkpoint/Storage.h"
#include "operator/Operator.h"
#include "seismic/Acoustic.h"

namespace tenet {

/// Drives a forward Operator and its adjoint through the Checkpointable interface.
///
/// Step numbering: checkpoint step s is the operator's time index `time_m + s`, for
/// s = 0 .. steps()-1 with steps() = time_M - time_m + 1. State s is the state before operator
/// step time_m + s. The acoustic forward runs time 1..nt-2, so there time_m = 1 and checkpoint
/// step s is operator step s + 1 (which writes u[s + 2]).
///
/// reverse(s, s+1) runs the `before_adjoint` hook, then the adjoint operator for the single time
/// index time_m + s. When the adjoint reads a level that forward step s writes (the newest), it
/// first runs that step (the Griewank-Walther "taping" step); when it reads only levels of state
/// s (the acoustic gradient summed by parts reads u[t]), it does not, except for a step the
/// forward has not run yet with the current parameters (the last one: its receiver samples
/// seed the residual). `taped_steps()` counts the forward steps run inside reverse steps.
/// The adjoint fields (ubar with its modulo buffers, the gradient mbar) live in the
/// DerivativeOperator and carry over between calls, so the reverse steps must come in the
/// order steps()-1 down to 0 (the executor guarantees it).
///
/// state(): every time buffer of every state field, halo included, one BufferRef per buffer
/// with shape = the allocated space extent (so compressors see the grid). state_at(s): only the
/// buffers holding the levels that step s reads (with modulo time the live levels rotate through
/// the buffers: level k sits in buffer k mod nbuf); checkpoints use it.
class OperatorCheckpointable : public Checkpointable {
 public:
  /// `state`: the TimeFunctions the forward advances (modulo buffers, not `save`d); every grid
  /// field the forward writes must be among them. `args` gives scalars (dt), threads and field
  /// overrides for both operators; its time range is ignored. The operators must outlive this.
  OperatorCheckpointable(Operator &forward, DerivativeOperator &adjoint,
                         std::vector<std::shared_ptr<FieldData>> state, std::int64_t time_m,
                         std::int64_t time_M, ApplyArgs args = {});
  ~OperatorCheckpointable() override;

  void forward(int t0, int t1) override;
  /// Steps t1-1 down to t0 from state t0. The executor asks for one step at a time; longer
  /// ranges recompute each state from a private copy of state t0 (quadratic in t1 - t0).
  void reverse(int t0, int t1) override;
  State state() override;
  /// Only the levels the step from state t reads (for u[t+1] = F(u[t], u[t-1]): two of the
  /// three modulo buffers), so a checkpoint holds no dead level.
  State state_at(int t) override;
  /// Without the taping step, the levels the adjoint reads (u[t] for the acoustic gradient
  /// summed by parts: half of a checkpoint); the whole state for the last step, which may
  /// need its forward step run.
  State reverse_state_at(int t) override;
  /// Checkpoints by reference (Checkpointable): an adjoint compiled with the state fields'
  /// levels by reference reads restored levels in the slots; where the adjoint reads only the
  /// level each step writes (the acoustic gradient summed by parts), a forward compiled alike
  /// writes a window's levels into them, and the window's reverse steps run in one call.
  int prepare_by_reference(int longest) override;
  bool reverse_from(int t, const State &levels) override;
  bool reverse_window(int t0, int t1, const std::vector<State> &levels, double &seconds_forward,
                      const State *t0_state = nullptr) override;

  int steps() const { return static_cast<int>(time_M_ - time_m_ + 1); }
  std::int64_t operator_time(int step) const { return time_m_ + step; }
  /// Bytes of one state (what one checkpoint holds uncompressed).
  std::size_t state_bytes() const;

  /// Called in reverse(s, s+1) after forward step s and before the adjoint step, with the
  /// operator time index: the place to seed per-step adjoint inputs such as receiver residuals,
  /// which become known only once the forward step has run.
  std::function<void(std::int64_t time)> before_adjoint;

  /// Runs the adjoint's `prepare` operator before the next reverse step (call after changing
  /// the parameters). The first reverse step does it anyway.
  void invalidate_prepare() {
    prepared_ = false;
    reached_ = 0;
  }

  /// Whether every reverse step runs its forward step first (the adjoint reads the level it
  /// writes), and how many forward steps the reverse steps have run so far.
  bool tapes() const { return tape_; }
  std::int64_t taped_steps() const { return taped_steps_; }

 private:
  void reverse_step(int s);
  void prepare();
  void run_by_reference(Operator &op, std::int64_t time_m, std::int64_t time_M);

  struct ByReference;

  Operator &forward_;
  DerivativeOperator &adjoint_;
  std::vector<std::shared_ptr<FieldData>> state_fields_;
  std::int64_t time_m_, time_M_;
  ApplyArgs args_;
  bool prepared_ = false;
  bool tape_ = true;             // the adjoint reads a level the forward step writes
  int reached_ = 0;              // forward steps 0 .. reached_-1 have run since invalidate_prepare()
  std::int64_t taped_steps_ = 0;
  std::unique_ptr<ByReference> by_reference_;
};

/// Bytes of one checkpoint of `state` for `forward`: per field, the levels one step reads (all
/// modulo buffers but the one it writes, or all of them when it writes in place).
std::size_t checkpoint_bytes(const Operator &forward, const std::vector<std::shared_ptr<FieldData>> &state);

/// The pieces of an FWI objective for one shot, generic over the forward equations.
struct GradientProblem {
  std::vector<Eq> equations;                       ///< one forward time step
  std::vector<std::shared_ptr<FieldData>> state;   ///< advanced TimeFunctions (e.g. u)
  std::shared_ptr<FieldData> parameter;            ///< differentiate with respect to this (m)
  std::shared_ptr<FieldData> receivers;            ///< sparse function the forward records (rec)
  std::int64_t time_m = 0, time_M = -1;            ///< operator time range of the forward
  std::map<std::string, double> scalars;           ///< dt and constants
};

/// The acoustic shot as a GradientProblem (time 1..nt-2, dt, receivers, gradient w.r.t. m).
GradientProblem gradient_problem(AcousticProblem &problem);

enum class GradientStrategy {
  FullHistory,  ///< forward with the whole history saved (save = nt), then one adjoint call
  StoreAll,     ///< executor with every state saved in memory (the reference for the others)
  Revolve,      ///< binomial checkpointing with `snapshots` or a `memory_bytes` budget
  TwoLevel,     ///< memory + disk snapshots (disk in `disk_directory`)
  Periodic,     ///< checkpoints every `period` steps
};

const char *strategy_name(GradientStrategy s);
/// "full-history", "store-all", "revolve", "two-level", "periodic".
GradientStrategy parse_strategy(const std::string &name);

struct GradientOptions {
  GradientStrategy strategy = GradientStrategy::FullHistory;
  /// Memory snapshots (initial state included, Schedule.h's convention). 0 with
  /// `memory_bytes`: as many as fit in the budget.
  int snapshots = 0;
  /// Memory budget in bytes for the checkpoints, or for FullHistory the saved history (0:
  /// unlimited, then `snapshots` is needed for Revolve, TwoLevel and Periodic).
  std::size_t memory_bytes = 0;
  int disk_snapshots = 0;             ///< TwoLevel
  double write_cost = 2.0;            ///< TwoLevel: one disk save, in forward steps
  double read_cost = 2.0;             ///< TwoLevel: one disk load, in forward steps
  std::string disk_directory;         ///< TwoLevel: where the checkpoint files go
  int period = 0;                     ///< Periodic: 0 picks the smallest that fits
  /// Optional storages replacing the default MemoryStorage / DiskStorage (e.g. a compressed
  /// one). Not owned.
  CheckpointStorage *memory_storage = nullptr;
  CheckpointStorage *disk_storage = nullptr;
  int threads = 0;                    ///< OpenMP threads (0: current setting)
  /// Fill GradientResult::gradient (a float64 copy of the interior). Off: only
  /// `gradient_field` holds the gradient, which saves a pass over a field-sized array (at 256^3
  /// float32 a 134 MB vector and ~0.05-0.08 s per call).
  bool copy_gradient = true;
  /// Checkpoints by reference in memory (execute_schedule): reverse steps read restored levels
  /// in the slots, and Revolve's innermost sweeps run as windows (the forward writes the slots,
  /// the reverse steps run in one call). The same gradient bitwise and the same counts; off:
  /// every save and load copies.
  bool checkpoints_by_reference = true;
};

struct GradientResult {
  double misfit = 0.0;               ///< 0.5 * sum over recorded samples of (rec - d)^2
  std::vector<double> gradient;      ///< dJ/dm on the interior, C order (empty without copy_gradient)
  std::shared_ptr<FieldData> gradient_field;  ///< the same as a Function (mbar), halo zero
  ExecutionStats stats;              ///< the executor's statistics (filled in for FullHistory too)
  /// Forward steps run inside reverse steps: one per reverse step when the adjoint reads the
  /// level a step writes, else only the last step (which the first sweep does not reach).
  /// Forward evaluations = stats.forward_steps + taped_steps.
  std::int64_t taped_steps = 0;
  ScheduleCost predicted;            ///< the schedule's cost as analyze_schedule predicts it
  std::string schedule;              ///< schedule name ("full-history" for FullHistory)
  int snapshots = 0, disk_snapshots = 0;
  std::size_t state_bytes = 0;       ///< one checkpoint, uncompressed
  double seconds_forward = 0;        ///< forward sweep (FullHistory) or executor forward time
  double seconds_adjoint = 0;        ///< adjoint call (FullHistory) or executor reverse time
  double seconds_total = 0;          ///< the whole compute(), residuals and zeroing included
};

/// Builds the operators once (JIT) and computes the objective and its gradient as often as
/// asked, e.g. once per FWI iteration after updating the parameter's data.
///
/// The forward starts at rest: compute() zeroes the state fields' initial levels, the adjoint
/// fields and the gradient first. The misfit sums the receiver samples the forward writes
/// (operator times time_m..time_M shifted by the receivers' time offset; the acoustic example
/// records rec[t] = P u[t] for t = 1..nt-2); the residual rec - d on those samples seeds rec_bar.
class FwiGradient {
 public:
  FwiGradient(GradientProblem problem, GradientOptions options = {});
  ~FwiGradient();
  FwiGradient(const FwiGradient &) = delete;
  FwiGradient &operator=(const FwiGradient &) = delete;

  /// `observed`: d as [nt][npoint] (the receivers' layout, C order).
  GradientResult compute(std::span<const double> observed);

  int steps() const;
  std::size_t state_bytes() const;
  /// The checkpoint schedule (null for FullHistory).
  const Schedule *schedule() const;
  Operator &forward_operator();
  DerivativeOperator &adjoint_operator();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One-call form: builds an FwiGradient and computes once.
GradientResult compute_gradient(const GradientProblem &problem, std::span<const double> observed,
                                const GradientOptions &options = {});
GradientResult compute_gradient(AcousticProblem &problem, std::span<const double> observed,
                                const GradientOptions &options = {});

}  // namespace tenet
