/** \file MemoryStorage.h  Checkpoints in memory within a byte budget. */
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint/Storage.h"

namespace tenet {

/// Copies of states held in memory. The budget is in bytes, not slots, because checkpoints of
/// different sizes (compressed ones) share it; a save that would exceed it throws tenet::Error
/// and leaves the storage as it was. Budget 0 means unlimited.
class MemoryStorage : public CheckpointStorage {
 public:
  explicit MemoryStorage(std::size_t budget_bytes = 0);

  void save(int slot, const State &state) override;
  void load(int slot, const State &state) override;
  void free(int slot) override;
  void finish() override {}
  bool by_reference() const override { return true; }
  State reserve(int slot, const State &layout) override;
  State view(int slot) override;
  std::size_t bytes_in_use() const override { return in_use_; }
  std::size_t peak_bytes() const override { return peak_; }
  std::size_t budget_bytes() const override { return budget_; }
  std::string name() const override { return "memory"; }

  /// Number of slots holding a state now.
  std::size_t slots_in_use() const { return slots_.size(); }

 private:
  // Uninitialised storage: a std::vector would zero every byte before the copy overwrites it.
  struct Blob {
    std::unique_ptr<unsigned char[]> data;
    std::size_t size = 0;
    std::size_t capacity = 0;  // 320 bytes more than the largest state it may hold (alignment, slack)
    std::size_t start = 0;     // where the state starts: as far from a 64-byte boundary as its source
  };
  struct Slot {
    Blob blob;
    State layout;  // each buffer's size, element type and shape (data unset), to check loads
  };
  // Makes `slot` hold `layout`'s sizes (within the budget), without copying; returns its start.
  unsigned char *place(int slot, const State &layout);
  std::map<int, Slot> slots_;
  // Released buffers kept for reuse, so that steady-state saves do not fault fresh pages in.
  // Kept only while they fit in the budget together with the checkpoints.
  std::vector<Blob> spare_;
  std::size_t budget_;
  std::size_t in_use_ = 0;
  std::size_t peak_ = 0;
  std::size_t peak_capacity_ = 0;  // the most the slots' buffers held together
};

/// How many checkpoints of `state_bytes` each fit in `budget_bytes` (at least 0).
inline int snapshots_for_budget(std::size_t budget_bytes, std::size_t state_bytes) {
  if (state_bytes == 0) return 0;
  const std::size_t n = budget_bytes / state_bytes;
  return n > 1000000000 ? 1000000000 : static_cast<int>(n);
}

}  // namespace tenet
