/** \file DiskStorage.h  Checkpoints in files of a user-named directory, written and read on
 * background threads. */
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "checkpoint/Storage.h"

namespace tenet {

struct DiskStorageOptions {
  /// Simulated disk capacity in bytes of checkpoint files (0: only the real disk's limit).
  /// Reaching it fails like a full disk; used to test that failure and to cap disk use.
  std::size_t byte_limit = 0;
  /// A save waits while this many writes are queued, bounding the memory held by pending I/O.
  int max_pending_writes = 4;
};

/// Each slot is one file in a private subdirectory created inside the user's directory.
///
/// - `save` copies the state into a buffer and returns; a writer thread checksums it and
///   writes it to a temporary name, then renames it into place, so a slot's file is either the
///   complete old or the complete new checkpoint. Loads of a slot whose write is still queued
///   are served from that buffer.
/// - `prefetch` (called by the executor ahead of a load) has a reader thread read and verify
///   the file while the caller computes; `load` then only copies.
/// - Every file carries a header (magic, sizes, slot, checksum); a truncated or altered file
///   gives a tenet::Error naming it, never wrong data.
/// - On any error (directory not writable, disk full, corrupt file) every file and the
///   subdirectory are removed before the error is thrown; the destructor removes them too.
///   Files are not fsync'ed: checkpoints do not need to survive a crash of the machine.
class DiskStorage : public CheckpointStorage {
 public:
  explicit DiskStorage(const std::string &directory, DiskStorageOptions options = {});
  ~DiskStorage() override;
  DiskStorage(const DiskStorage &) = delete;
  DiskStorage &operator=(const DiskStorage &) = delete;

  void save(int slot, const State &state) override;
  void load(int slot, const State &state) override;
  void free(int slot) override;
  void finish() override;
  void prefetch(int slot) override;
  std::size_t bytes_in_use() const override;
  std::size_t peak_bytes() const override;
  std::size_t budget_bytes() const override;
  std::string name() const override { return "disk"; }

  /// The private subdirectory holding the files (removed by the destructor).
  const std::string &directory() const;
  /// The file of `slot` (exists once its write completed).
  std::string slot_path(int slot) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenet
