#include "compress/CompressedStorage.h"

#include <chrono>
#include <cstring>

#include "support/Bytes.h"
#include "support/Error.h"

namespace tenet {

namespace {

std::vector<std::int64_t> buffer_shape(const BufferRef &b, std::size_t index) {
  if (b.shape.empty()) return {static_cast<std::int64_t>(b.count)};
  std::size_t n = 1;
  for (auto e : b.shape) n *= static_cast<std::size_t>(e);
  TENET_USER_CHECK(n == b.count && b.shape.size() <= 3, "checkpoint buffer ", index, " has count ", b.count,
                   " but a shape of ", b.shape.size(), " dims holding ", n, " elements");
  return b.shape;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

CompressedStorage::CompressedStorage(std::unique_ptr<Compressor> compressor, std::size_t budget_bytes,
                                     int workers)
    : budget_(budget_bytes) {
  TENET_USER_CHECK(compressor != nullptr, "CompressedStorage needs a compressor");
  TENET_USER_CHECK(workers >= 1, "CompressedStorage needs at least one worker thread, got ", workers);
  load_compressor_ = make_compressor(compressor->name(), compressor->settings());
  worker_compressor_ = std::move(compressor);
  worker_compressor_->set_threads(1);
  load_compressor_->set_threads(0);
  name_ = "compressed(" + worker_compressor_->name() + ")";
  max_queue_ = 2 * static_cast<std::size_t>(workers);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

CompressedStorage::~CompressedStorage() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto &t : workers_) t.join();
}

void CompressedStorage::rethrow_deferred() {
  if (deferred_) {
    std::exception_ptr e = deferred_;
    deferred_ = nullptr;
    std::rethrow_exception(e);
  }
}

void CompressedStorage::drop(Slot &s) {
  in_use_ -= s.bytes;
  raw_in_use_ -= s.raw_bytes;
  s.bytes = s.raw_bytes = 0;
  s.stored.clear();
  s.present = false;
  s.prefetched = false;
  s.staged.clear();
}

void CompressedStorage::save(int slot, const State &state) {
  check_state_buffers(state, "compressed checkpoint storage");
  // Stage outside the lock: this copy is the only work the caller waits for.
  Job job;
  job.slot = slot;
  job.buffers.reserve(state.size());
  for (std::size_t i = 0; i < state.size(); ++i) {
    const BufferRef &b = state[i];
    Staged s{b.dtype, buffer_shape(b, i), {}};
    s.raw.resize(b.bytes());
    if (b.bytes()) copy_bytes(s.raw.data(), b.data, b.bytes());
    job.buffers.push_back(std::move(s));
  }
  std::unique_lock<std::mutex> lock(mutex_);
  rethrow_deferred();
  cv_.wait(lock, [&] { return queue_.size() < max_queue_; });
  Slot &s = slots_[slot];
  drop(s);
  s.generation = job.generation = next_generation_++;
  s.pending = true;
  queue_.push_back(std::move(job));
  lock.unlock();
  cv_.notify_all();
}

void CompressedStorage::worker_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    cv_.notify_all();  // a save may be waiting for queue space
    if (job.decompress)
      run_decompress(job);
    else
      run_compress(job);
    cv_.notify_all();
  }
}

void CompressedStorage::run_compress(Job &job) {
  std::vector<Stored> stored;
  std::exception_ptr error;
  auto t0 = std::chrono::steady_clock::now();
  try {
    for (auto &b : job.buffers) {
      if (b.raw.empty()) {
        stored.push_back({b.dtype, b.shape, 0, std::make_shared<const std::vector<std::uint8_t>>()});
        continue;
      }
      stored.push_back({b.dtype, b.shape, b.raw.size(),
                        std::make_shared<const std::vector<std::uint8_t>>(
                            worker_compressor_->compress(b.raw.data(), b.dtype, b.shape))});
      std::vector<std::uint8_t>().swap(b.raw);  // release staging memory early
    }
  } catch (...) {
    error = std::current_exception();
  }
  double dt = seconds_since(t0);
  std::lock_guard<std::mutex> lock(mutex_);
  --busy_;
  compress_s_ += dt;
  auto it = slots_.find(job.slot);
  if (it == slots_.end() || it->second.generation != job.generation) return;  // replaced or freed
  Slot &s = it->second;
  s.pending = false;
  std::size_t bytes = 0, raw = 0;
  for (auto &b : stored) {
    bytes += b.bytes->size();
    raw += b.raw_bytes;
  }
  if (error) {
    if (!deferred_) deferred_ = error;
  } else if (budget_ != 0 && in_use_ + bytes > budget_) {
    if (!deferred_)
      deferred_ = std::make_exception_ptr(Error(internal::cat(
          "checkpoint storage ", name_, " is over its budget: slot ", job.slot, " compressed to ", bytes,
          " bytes, ", in_use_, " of ", budget_, " already in use; raise the budget, loosen the error "
          "bound, or let the schedule use fewer slots")));
  } else {
    s.stored = std::move(stored);
    s.bytes = bytes;
    s.raw_bytes = raw;
    s.present = true;
    in_use_ += bytes;
    raw_in_use_ += raw;
    if (in_use_ > peak_) peak_ = in_use_;
  }
}

void CompressedStorage::run_decompress(Job &job) {
  std::vector<std::vector<std::uint8_t>> staged;
  bool ok = true;
  auto t0 = std::chrono::steady_clock::now();
  try {
    for (const Stored &b : job.stored) {
      staged.emplace_back(b.raw_bytes);
      if (b.raw_bytes) worker_compressor_->decompress(*b.bytes, staged.back().data(), b.dtype, b.shape);
    }
  } catch (...) {
    ok = false;  // load() decompresses again and reports the error itself
  }
  double dt = seconds_since(t0);
  std::lock_guard<std::mutex> lock(mutex_);
  --busy_;
  decompress_s_ += dt;
  auto it = slots_.find(job.slot);
  if (it == slots_.end() || it->second.generation != job.generation) return;
  it->second.prefetching = false;
  if (ok) {
    it->second.staged = std::move(staged);
    it->second.prefetched = true;
  }
}

void CompressedStorage::prefetch(int slot) {
  std::unique_lock<std::mutex> lock(mutex_);
  rethrow_deferred();
  auto it = slots_.find(slot);
  if (it == slots_.end()) return;
  // A hint never blocks: a slot still being compressed is skipped (load() waits for it).
  Slot &s = it->second;
  if (s.pending || !s.present || s.prefetching || s.prefetched) return;
  Job job;
  job.decompress = true;
  job.slot = slot;
  job.generation = s.generation;
  job.stored = s.stored;
  s.prefetching = true;
  queue_.push_back(std::move(job));
  lock.unlock();
  cv_.notify_all();
}

void CompressedStorage::load(int slot, const State &state) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto it = slots_.find(slot);
  TENET_USER_CHECK(it != slots_.end(), "checkpoint slot ", slot, " of ", name_, " was never saved");
  cv_.wait(lock, [&] { return !slots_.at(slot).pending; });
  rethrow_deferred();
  Slot &s = slots_.at(slot);
  TENET_USER_CHECK(s.present, "checkpoint slot ", slot, " of ", name_, " is empty (freed, or its save failed)");
  TENET_USER_CHECK(s.stored.size() == state.size(), "checkpoint slot ", slot, " holds ", s.stored.size(),
                   " buffers but the state to load has ", state.size());
  for (std::size_t i = 0; i < state.size(); ++i) {
    const Stored &b = s.stored[i];
    TENET_USER_CHECK(state[i].dtype == b.dtype && state[i].bytes() == b.raw_bytes, "checkpoint slot ", slot,
                     " buffer ", i, " holds ", b.raw_bytes, " bytes of ", dtype_name(b.dtype), " but the state buffer has ",
                     state[i].bytes(), " bytes of ", dtype_name(state[i].dtype));
  }
  cv_.wait(lock, [&] { return !slots_.at(slot).prefetching; });
  if (s.prefetched) {
    for (std::size_t i = 0; i < state.size(); ++i)
      if (s.stored[i].raw_bytes) copy_bytes(state[i].data, s.staged[i].data(), s.stored[i].raw_bytes);
    s.prefetched = false;
    s.staged.clear();
    return;
  }
  // Decompress outside the lock (workers keep going); the shared buffers stay alive even if
  // another thread frees the slot meanwhile.
  std::vector<Stored> stored = s.stored;
  lock.unlock();
  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < state.size(); ++i) {
    const Stored &b = stored[i];
    if (b.raw_bytes == 0) continue;
    load_compressor_->decompress(*b.bytes, state[i].data, b.dtype, b.shape);
  }
  double dt = seconds_since(t0);
  lock.lock();
  decompress_s_ += dt;
}

void CompressedStorage::free(int slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  rethrow_deferred();
  auto it = slots_.find(slot);
  if (it == slots_.end()) return;
  drop(it->second);
  it->second.generation = next_generation_++;  // a queued save or prefetch of it is now stale
  it->second.pending = false;
  it->second.prefetching = false;
}

void CompressedStorage::finish() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return queue_.empty() && busy_ == 0; });
  rethrow_deferred();
}

std::size_t CompressedStorage::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

std::size_t CompressedStorage::peak_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

std::size_t CompressedStorage::raw_bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return raw_in_use_;
}

double CompressedStorage::compress_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return compress_s_;
}

double CompressedStorage::decompress_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return decompress_s_;
}

std::string CompressedStorage::name() const { return name_; }

}  // namespace tenet
