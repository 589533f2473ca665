/** \file Checkpointable.h  What the checkpointing runtime needs from a time-stepping code.
 *
 * The runtime knows nothing of the DSL (DESIGN.md): an Operator, a toy stepper in a test, or any
 * user code implements this interface and the executor drives it.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "support/DType.h"

namespace tenet {

/// One contiguous array that is part of a forward state (for a TimeFunction with modulo time:
/// one time level). `shape` (1 to 3 entries, last fastest) lets compressors exploit smoothness;
/// its product equals `count`.
struct BufferRef {
  void *data = nullptr;
  std::size_t count = 0;
  DType dtype = DType::Float32;
  std::vector<std::int64_t> shape;

  std::size_t bytes() const { return count * dtype_size(dtype); }
};

/// The buffers that make up the forward state at a step: exactly what the next forward step
/// and the reverse step read, no more.
using State = std::vector<BufferRef>;

/// Total bytes of a state's buffers.
inline std::size_t state_bytes(const State &state) {
  std::size_t total = 0;
  for (const BufferRef &b : state) total += b.bytes();
  return total;
}

/// A time-stepping code that can be run forward, reversed one step at a time, and whose forward
/// state can be saved and restored.
///
/// Step convention: the forward state "at step t" is the state after t forward steps, so
/// step t maps state t to state t+1. `forward(t0, t1)` advances state t0 to state t1.
/// `reverse(t0, t1)` runs the adjoint of steps t1-1 down to t0; the executor calls it only when
/// the forward state held by the object is state t0 (the adjoint of step t reads the forward
/// state at t).
class Checkpointable {
 public:
  virtual ~Checkpointable() = default;
  virtual void forward(int t0, int t1) = 0;
  virtual void reverse(int t0, int t1) = 0;
  /// The buffers of the current forward state; saving copies out of them, loading copies into
  /// them. The pointers stay valid for the lifetime of the object.
  virtual State state() = 0;
  /// The buffers that hold forward state `t` (saved when the object holds state t; loaded to
  /// make it hold state t). Codes whose live data moves between buffers from step to step
  /// (modulo time buffers) override this to name exactly the live ones; every call with the
  /// same t must give the same layout. Default: state().
  virtual State state_at(int t) {
    (void)t;
    return state();
  }
  /// The buffers reverse step t reads of forward state t, when it needs less than the whole
  /// state (an adjoint that does not re-run forward step t and reads only some of its levels).
  /// A checkpoint the schedule restores only to reverse that same step right away holds just
  /// these: the executor saves and loads such a slot with this layout. Every call with the same
  /// t must give the same layout. Default: state_at(t).
  virtual State reverse_state_at(int t) { return state_at(t); }

  /// Checkpoints by reference (optional), for storages that lend their slots' memory
  /// (CheckpointStorage::reserve / view). A slot the schedule saves only to restore it right
  /// before its own reverse step holds reverse_state_at(t); an object that can read those
  /// buffers where they lie skips the copies, and one that can also write them there runs a
  /// run of such steps in one pass:
  ///
  /// - `reverse_from(t, levels)`: reverse step t reading, in place of the buffers
  ///   reverse_state_at(t) names, `levels` (laid out alike), which it must not modify.
  /// - `reverse_window(t0, t1, levels, seconds_forward, t0_state)`: with the object holding state
  ///   t0, forward steps t0 .. t1-1 write what reverse_state_at(t) names for t = t0+1 .. t1
  ///   into levels[t - t0 - 1] (laid out alike) instead of their own buffers, then reverse steps
  ///   t1 down to t0 run as reverse(t, t+1) would, state t0 read from the object's own buffers,
  ///   or from `t0_state` where given (state t0 laid out as state_at(t0), a checkpoint's view,
  ///   which it must not modify; the object then need not hold t0, and `levels` may omit t1's
  ///   entry, which the object then keeps in its own buffers). Afterwards its buffers hold state
  ///   t0 no longer. `seconds_forward` receives the time spent stepping forward.
  ///
  /// Both return false, having done nothing, where they cannot. `prepare_by_reference(longest)`
  /// comes once before a schedule runs, with the most steps (t1 - t0) of any window in it; it
  /// returns -1 where the object does neither (the default), else the most steps a window may
  /// take (0: reverse_from only); the object may build what it needs here.
  virtual int prepare_by_reference(int longest) {
    (void)longest;
    return -1;
  }
  virtual bool reverse_from(int t, const State &levels) {
    (void)t;
    (void)levels;
    return false;
  }
  virtual bool reverse_window(int t0, int t1, const std::vector<State> &levels, double &seconds_forward,
                              const State *t0_state = nullptr) {
    (void)t0;
    (void)t1;
    (void)levels;
    (void)seconds_forward;
    (void)t0_state;
    return false;
  }
};

}  // namespace tenet
