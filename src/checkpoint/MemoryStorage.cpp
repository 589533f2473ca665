#include "checkpoint/MemoryStorage.h"

#include "support/Bytes.h"
#include "support/Error.h"

namespace tenet {

std::size_t state_bytes(const State &state) {
  std::size_t total = 0;
  for (const BufferRef &b : state) total += b.bytes();
  return total;
}

MemoryStorage::MemoryStorage(std::size_t budget_bytes) : budget_(budget_bytes) {}

void MemoryStorage::save(int slot, const State &state) {
  TENET_USER_CHECK(slot >= 0, "memory checkpoint storage: slot ", slot, " is negative");
  check_state_buffers(state, "memory checkpoint storage");
  const std::size_t bytes = state_bytes(state);
  auto it = slots_.find(slot);
  const std::size_t replaced = it == slots_.end() ? 0 : it->second.blob.size;
  if (budget_ != 0 && in_use_ - replaced + bytes > budget_) {
    throw Error(internal::cat(
        "memory checkpoint storage: saving slot ", slot, " needs ", bytes, " bytes but only ",
        budget_ - (in_use_ - replaced), " of the ", budget_, "-byte budget are free (",
        in_use_, " bytes held in ", slots_.size(),
        " slots); raise the memory budget or use fewer snapshots (at most ",
        snapshots_for_budget(budget_, bytes), " states of this size fit)"));
  }
  if (it == slots_.end()) it = slots_.emplace(slot, Slot{}).first;
  Slot &s = it->second;
  if (s.blob.capacity < bytes) {
    // Reuse a released buffer large enough, else allocate.
    bool reused = false;
    for (std::size_t i = 0; i < spare_.size() && !reused; ++i) {
      if (spare_[i].capacity >= bytes) {
        std::swap(s.blob, spare_[i]);
        spare_.erase(spare_.begin() + static_cast<std::ptrdiff_t>(i));
        reused = true;
      }
    }
    if (!reused) {
      s.blob.data = std::make_unique_for_overwrite<unsigned char[]>(bytes);
      s.blob.capacity = bytes;
      // Before the first copy touches it: a checkpoint is tens of MB, faulted in once.
      if (bytes >= (std::size_t(4) << 20)) advise_huge_pages(s.blob.data.get(), bytes);
    }
  }
  s.blob.size = bytes;
  s.sizes.clear();
  s.dtypes.clear();
  std::size_t offset = 0;
  for (const BufferRef &b : state) {
    if (b.bytes() != 0) copy_bytes(s.blob.data.get() + offset, b.data, b.bytes());
    offset += b.bytes();
    s.sizes.push_back(b.bytes());
    s.dtypes.push_back(b.dtype);
  }
  in_use_ = in_use_ - replaced + bytes;
  if (in_use_ > peak_) peak_ = in_use_;
}

void MemoryStorage::load(int slot, const State &state) {
  check_state_buffers(state, "memory checkpoint storage");
  auto it = slots_.find(slot);
  TENET_USER_CHECK(it != slots_.end(), "memory checkpoint storage: load of slot ", slot,
                   " which holds no state (a schedule must save before it loads)");
  const Slot &s = it->second;
  TENET_USER_CHECK(s.sizes.size() == state.size(), "memory checkpoint storage: slot ", slot,
                   " holds ", s.sizes.size(), " buffers but the state to load has ",
                   state.size());
  std::size_t offset = 0;
  for (std::size_t i = 0; i < state.size(); ++i) {
    TENET_USER_CHECK(s.dtypes[i] == state[i].dtype, "memory checkpoint storage: slot ", slot, " buffer ", i, " holds ",
                     dtype_name(s.dtypes[i]), " values but the state's buffer is ", dtype_name(state[i].dtype));
    TENET_USER_CHECK(s.sizes[i] == state[i].bytes(), "memory checkpoint storage: slot ", slot,
                     " buffer ", i, " holds ", s.sizes[i], " bytes but the state's buffer has ",
                     state[i].bytes());
    if (s.sizes[i] != 0) copy_bytes(state[i].data, s.blob.data.get() + offset, s.sizes[i]);
    offset += s.sizes[i];
  }
}

void MemoryStorage::free(int slot) {
  auto it = slots_.find(slot);
  if (it == slots_.end()) return;
  in_use_ -= it->second.blob.size;
  std::size_t spare_bytes = 0;
  for (const Blob &b : spare_) spare_bytes += b.capacity;
  const std::size_t capacity = it->second.blob.capacity;
  // Unlimited budget: keep no more than the peak held so far (memory this run already used), so
  // the next gradient's saves reuse the buffers instead of faulting fresh pages in.
  const bool fits = budget_ == 0 ? in_use_ + spare_bytes + capacity <= peak_
                                 : in_use_ + spare_bytes + capacity <= budget_;
  if (fits && capacity > 0) spare_.push_back(std::move(it->second.blob));
  slots_.erase(it);
}

}  // namespace tenet
