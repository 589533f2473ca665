/** \file Storage.h  Where checkpoints live: memory within a byte budget, disk, compressed. */
#pragma once

#include <cstddef>
#include <string>

#include "checkpoint/Checkpointable.h"
#include "support/Error.h"

namespace tenet {

/// A tenet::Error naming the storage `who` where a buffer of `state` has elements but no data
/// pointer (the implementations check the states they are given with it).
inline void check_state_buffers(const State &state, const char *who) {
  for (std::size_t i = 0; i < state.size(); ++i)
    TENET_USER_CHECK(state[i].data != nullptr || state[i].bytes() == 0, who, ": buffer ", i, " of the state has ",
                     state[i].bytes(), " bytes but no data pointer");
}

/// Holds checkpoints in numbered slots. Implementations: memory (byte budget), disk
/// (background I/O), and compressed (compress/CompressedStorage.h, through any Compressor).
///
/// `save` may return before the data has reached its final place (asynchronous I/O or
/// compression), but it must have copied or consumed the caller's buffers by the time it
/// returns, so the caller may overwrite them at once. `load` returns only when the state's
/// buffers hold the slot's contents. Errors (over budget, failed write, corrupt data) are
/// thrown as tenet::Error, at the latest from the next call or from `finish()`.
class CheckpointStorage {
 public:
  virtual ~CheckpointStorage() = default;
  /// Stores `state` in `slot`, replacing what the slot held.
  virtual void save(int slot, const State &state) = 0;
  /// Copies the slot back into `state`'s buffers; their number, dtypes and sizes must match.
  virtual void load(int slot, const State &state) = 0;
  /// Releases the slot (no-op when empty).
  virtual void free(int slot) = 0;
  /// Waits for all pending work and reports any deferred error.
  virtual void finish() = 0;
  /// A hint: `slot` will be loaded next on this storage with no save or free of it in between
  /// (the executor knows from the schedule). Asynchronous storages start reading (and
  /// decompressing) it in the background so the load overlaps computation. Default: nothing.
  virtual void prefetch(int slot) { (void)slot; }
  /// Checkpoints by reference (optional; MemoryStorage has them, `by_reference()` says so).
  /// `reserve` makes `slot` hold buffers of `layout`'s sizes and element types, as a save of
  /// `layout` would, and returns them for the caller to fill in its place; each starts at the
  /// same offset from a 64-byte boundary as layout's. `view` returns the buffers `slot` holds,
  /// to read in place of a load. Both stay valid until the slot is saved, reserved or freed.
  /// Both return an empty State where the storage cannot (the caller then saves and loads).
  virtual bool by_reference() const { return false; }
  virtual State reserve(int slot, const State &layout) {
    (void)slot;
    (void)layout;
    return {};
  }
  virtual State view(int slot) {
    (void)slot;
    return {};
  }
  /// Bytes held now, the most ever held, and the budget (0: unlimited).
  virtual std::size_t bytes_in_use() const = 0;
  virtual std::size_t peak_bytes() const = 0;
  virtual std::size_t budget_bytes() const = 0;
  /// A short name for reports ("memory", "disk", "compressed(zfp)").
  virtual std::string name() const = 0;
};

}  // namespace tenet
