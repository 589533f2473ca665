#include "checkpoint/MemoryStorage.h"

#include <algorithm>
#include <cstdint>

#include "support/Bytes.h"
#include "support/Error.h"

namespace tenet {

MemoryStorage::MemoryStorage(std::size_t budget_bytes) : budget_(budget_bytes) {}

unsigned char *MemoryStorage::place(int slot, const State &state) {
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
  // Room to align the start (64) and, after the data, the slack a field's buffer has: a kernel
  // reading the slot in place may load (never use) a few vectors past a row's end, as it does
  // in its own buffers (types/Function.cpp).
  const std::size_t need = bytes + 64 + 256;
  if (s.blob.capacity < need) {
    // Reuse the smallest released buffer large enough (a larger one is kept for larger states:
    // fresh pages cost more than a copy), else allocate.
    std::size_t best = spare_.size();
    for (std::size_t i = 0; i < spare_.size(); ++i)
      if (spare_[i].capacity >= need && (best == spare_.size() || spare_[i].capacity < spare_[best].capacity)) best = i;
    if (best < spare_.size()) {
      std::swap(s.blob, spare_[best]);
      spare_.erase(spare_.begin() + static_cast<std::ptrdiff_t>(best));
    } else {
      s.blob.data = std::make_unique_for_overwrite<unsigned char[]>(need);
      s.blob.capacity = need;
      // Before the first copy touches it: a checkpoint is tens of MB, faulted in once.
      if (need >= (std::size_t(4) << 20)) advise_huge_pages(s.blob.data.get(), need);
    }
  }
  // The same offset from a cache line as the source: a kernel reading the slot in place (view)
  // finds its rows aligned as in the field.
  const auto at = reinterpret_cast<std::uintptr_t>(s.blob.data.get());
  const auto want = state.empty() ? 0 : reinterpret_cast<std::uintptr_t>(state[0].data) % 64;
  s.blob.start = static_cast<std::size_t>((want - at % 64 + 64) % 64);
  s.blob.size = bytes;
  s.layout = state;
  for (BufferRef &b : s.layout) b.data = nullptr;
  in_use_ = in_use_ - replaced + bytes;
  if (in_use_ > peak_) peak_ = in_use_;
  std::size_t held = 0;
  for (const auto &[n, other] : slots_) held += other.blob.capacity;
  peak_capacity_ = std::max(peak_capacity_, held);
  return s.blob.data.get() + s.blob.start;
}

void MemoryStorage::save(int slot, const State &state) {
  unsigned char *to = place(slot, state);
  for (const BufferRef &b : state) {
    if (b.bytes() != 0) copy_bytes(to, b.data, b.bytes());
    to += b.bytes();
  }
}

State MemoryStorage::reserve(int slot, const State &layout) {
  place(slot, layout);
  return view(slot);
}

State MemoryStorage::view(int slot) {
  auto it = slots_.find(slot);
  TENET_USER_CHECK(it != slots_.end(), "memory checkpoint storage: view of slot ", slot,
                   " which holds no state (a schedule must save before it loads)");
  State out = it->second.layout;
  unsigned char *at = it->second.blob.data.get() + it->second.blob.start;
  for (BufferRef &b : out) {
    b.data = at;
    at += b.bytes();
  }
  return out;
}

void MemoryStorage::load(int slot, const State &state) {
  check_state_buffers(state, "memory checkpoint storage");
  auto it = slots_.find(slot);
  TENET_USER_CHECK(it != slots_.end(), "memory checkpoint storage: load of slot ", slot,
                   " which holds no state (a schedule must save before it loads)");
  const State &held = it->second.layout;
  TENET_USER_CHECK(held.size() == state.size(), "memory checkpoint storage: slot ", slot,
                   " holds ", held.size(), " buffers but the state to load has ",
                   state.size());
  const unsigned char *from = it->second.blob.data.get() + it->second.blob.start;
  for (std::size_t i = 0; i < state.size(); ++i) {
    TENET_USER_CHECK(held[i].dtype == state[i].dtype, "memory checkpoint storage: slot ", slot, " buffer ", i, " holds ",
                     dtype_name(held[i].dtype), " values but the state's buffer is ", dtype_name(state[i].dtype));
    TENET_USER_CHECK(held[i].bytes() == state[i].bytes(), "memory checkpoint storage: slot ", slot,
                     " buffer ", i, " holds ", held[i].bytes(), " bytes but the state's buffer has ",
                     state[i].bytes());
    if (held[i].bytes() != 0) copy_bytes(state[i].data, from, held[i].bytes());
    from += held[i].bytes();
  }
}

void MemoryStorage::free(int slot) {
  auto it = slots_.find(slot);
  if (it == slots_.end()) return;
  Blob blob = std::move(it->second.blob);
  slots_.erase(it);
  in_use_ -= blob.size;
  const std::size_t capacity = blob.capacity;
  // Keep the buffer for later saves (the next gradient's reuse them instead of faulting fresh
  // pages in), as long as the buffers held stay within what the slots once held together (or
  // the budget).
  std::size_t held = 0;
  for (const auto &[n, other] : slots_) held += other.blob.capacity;
  for (const Blob &b : spare_) held += b.capacity;
  if (capacity > 0 && held + capacity <= (budget_ == 0 ? peak_capacity_ : budget_))
    spare_.push_back(std::move(blob));
}

}  // namespace tenet
