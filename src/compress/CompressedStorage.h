/** \file CompressedStorage.h  Checkpoint storage that keeps only compressed bytes, compressing on worker threads. */
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/Storage.h"
#include "compress/Compressor.h"

namespace tenet {

/// Holds checkpoints as compressed buffers (any Compressor), within a budget of compressed bytes.
///
/// save(): copies the state's buffers into a staging area (one memcpy, so the caller may
/// overwrite its buffers as soon as save returns) and queues the compression on a worker thread,
/// so it overlaps the caller's next forward steps. At most 2 * workers saves wait in the queue;
/// a further save blocks until one is done, which bounds the staging memory. Staging copies are
/// transient and not counted against the budget: the budget counts the compressed bytes held.
///
/// The compressed size is known only after compression, so exceeding the budget is detected on
/// the worker; the slot is then dropped and the error is thrown (as tenet::Error) from the next
/// call, or from finish(), as CheckpointStorage allows.
///
/// load(): waits for that slot's compression if still queued, then decompresses straight into
/// the state's buffers using all OpenMP threads (the codec splits arrays into slabs).
/// prefetch(slot): decompresses the slot on a worker into a staging copy, so that the next
/// load of it is one memcpy per buffer and the decompression overlaps the caller's work (the
/// staging copy, like save's, is transient and outside the budget).
class CompressedStorage final : public CheckpointStorage {
 public:
  /// `budget_bytes` 0: unlimited. `workers` >= 1 compression threads.
  CompressedStorage(std::unique_ptr<Compressor> compressor, std::size_t budget_bytes, int workers = 2);
  ~CompressedStorage() override;
  CompressedStorage(const CompressedStorage &) = delete;
  CompressedStorage &operator=(const CompressedStorage &) = delete;

  void save(int slot, const State &state) override;
  void load(int slot, const State &state) override;
  void free(int slot) override;
  void finish() override;
  void prefetch(int slot) override;
  std::size_t bytes_in_use() const override;
  std::size_t peak_bytes() const override;
  std::size_t budget_bytes() const override { return budget_; }
  std::string name() const override;

  /// Uncompressed bytes of the slots held now (bytes_in_use() / this = 1 / ratio).
  std::size_t raw_bytes_in_use() const;
  /// Seconds spent compressing on the workers and decompressing in load(), summed.
  double compress_seconds() const;
  double decompress_seconds() const;

 private:
  struct Staged {
    DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> raw;
  };
  struct Stored {
    DType dtype;
    std::vector<std::int64_t> shape;
    std::size_t raw_bytes;
    // Shared so a prefetch running on a worker keeps the bytes alive if the slot is freed.
    std::shared_ptr<const std::vector<std::uint8_t>> bytes;
  };
  struct Job {
    bool decompress = false;  // false: compress `buffers`; true: prefetch the slot's `stored`
    int slot;
    std::uint64_t generation;
    std::vector<Staged> buffers;
    std::vector<Stored> stored;
  };
  struct Slot {
    std::uint64_t generation = 0;  // of the latest save; older results are discarded
    bool pending = false;          // latest save still queued or compressing
    bool present = false;          // `stored` holds the latest save
    std::vector<Stored> stored;
    std::size_t bytes = 0, raw_bytes = 0;
    bool prefetching = false;                            // a prefetch job is queued or running
    bool prefetched = false;                             // `staged` holds the decompressed slot
    std::vector<std::vector<std::uint8_t>> staged;       // of generation `generation`
  };

  void worker_loop();
  void run_compress(Job &job);
  void run_decompress(Job &job);
  void rethrow_deferred();  // with mutex_ held
  void drop(Slot &s);       // with mutex_ held

  std::unique_ptr<Compressor> worker_compressor_;  // one thread per call: workers run in parallel
  std::unique_ptr<Compressor> load_compressor_;    // all threads: load is on the critical path
  std::size_t budget_;
  std::string name_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::size_t max_queue_;
  int busy_ = 0;
  bool stop_ = false;
  std::map<int, Slot> slots_;
  std::uint64_t next_generation_ = 1;
  std::size_t in_use_ = 0, peak_ = 0, raw_in_use_ = 0;
  double compress_s_ = 0, decompress_s_ = 0;
  std::exception_ptr deferred_;
  std::vector<std::thread> workers_;
};

}  // namespace tenet
