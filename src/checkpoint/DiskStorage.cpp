#include "checkpoint/DiskStorage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "checkpoint/Checksum.h"
#include "support/Bytes.h"
#include "support/DType.h"
#include "support/Error.h"

namespace tenet {

namespace {

// A byte buffer left uninitialised on allocation: checkpoint images are overwritten at once, and
// zeroing them first (as std::vector does) would double the memory traffic of every save.
class Bytes {
 public:
  Bytes() = default;
  explicit Bytes(std::size_t n) { resize(n); }
  unsigned char *data() { return p_.get(); }
  const unsigned char *data() const { return p_.get(); }
  std::size_t size() const { return n_; }
  void resize(std::size_t n) {  // keeps the first min(n, size()) bytes
    if (n > capacity_) {
      auto q = std::make_unique_for_overwrite<unsigned char[]>(n);
      if (n_ != 0) std::memcpy(q.get(), p_.get(), n_);
      p_ = std::move(q);
      capacity_ = n;
    }
    n_ = n;
  }

 private:
  std::unique_ptr<unsigned char[]> p_;
  std::size_t n_ = 0, capacity_ = 0;
};

// File layout (little-endian host order; files never leave the machine that wrote them):
//   0  magic "TNTCKPT1"        8  u32 format (1)   12 u32 buffer count
//   16 u64 payload bytes       24 u64 checksum of everything from byte 32 on
//   32 u64 slot                40 u64 save number
//   48 u64 size of each buffer, then the buffers' bytes.
constexpr char kMagic[8] = {'T', 'N', 'T', 'C', 'K', 'P', 'T', '1'};
constexpr std::uint32_t kFormat = 1;
constexpr std::size_t kFixedHeader = 48;

template <class T>
void put(Bytes &b, std::size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}
template <class T>
T get(const Bytes &b, std::size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

struct DiskStorage::Impl {
  struct SlotInfo {
    bool filled = false;
    std::uint64_t version = 0;     // bumped by every save and free of the slot
    std::size_t size = 0;          // bytes of the file image
    std::vector<std::size_t> sizes;
    std::vector<DType> dtypes;     // of the saved buffers (the file holds bytes only)
    std::shared_ptr<Bytes> pending;  // image not yet on disk
    bool prefetching = false;
    std::shared_ptr<Bytes> prefetched;
    std::string prefetch_error;
  };
  struct Job {
    bool remove = false;
    int slot = 0;
    std::uint64_t version = 0;
    std::shared_ptr<Bytes> image;
  };

  std::string dir;
  DiskStorageOptions options;
  mutable std::mutex mu;
  std::condition_variable wake_writer, wake_reader, done;
  std::deque<Job> writes;
  std::deque<std::pair<int, std::uint64_t>> reads;
  bool writer_busy = false, reader_busy = false, stopping = false;
  std::string error;   // first error seen by any thread; empty when none
  bool cleaned = false;
  std::map<int, SlotInfo> slots;
  std::map<int, std::size_t> file_sizes;  // files on disk now (writer's view)
  std::size_t disk_bytes = 0;
  std::size_t in_use = 0, peak = 0;
  std::thread writer, reader;

  std::string path(int slot) const { return dir + "/slot-" + std::to_string(slot) + ".ckpt"; }

  // Records the first error (any thread, lock held by caller).
  void record_error(const std::string &what) {
    if (error.empty()) error = what;
  }

  // Main thread: if an error happened, remove everything and throw it.
  void throw_if_failed(std::unique_lock<std::mutex> &lock) {
    if (error.empty()) return;
    writes.clear();
    reads.clear();
    done.wait(lock, [&] { return !writer_busy && !reader_busy; });
    if (!cleaned) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      cleaned = true;
    }
    throw Error(error);
  }

  std::string verify(const Bytes &image, int slot, std::uint64_t version,
                     const std::string &file) const {
    auto corrupt = [&](const std::string &why) {
      return internal::cat("disk checkpoint storage: checkpoint file '", file, "' is corrupt (",
                           why, "); it changed after it was written (disk fault or another "
                           "process); the run cannot continue and must be restarted");
    };
    if (image.size() < kFixedHeader) {
      return corrupt(internal::cat("truncated: ", image.size(), " bytes, shorter than a header"));
    }
    if (std::memcmp(image.data(), kMagic, sizeof kMagic) != 0) return corrupt("bad magic");
    if (get<std::uint32_t>(image, 8) != kFormat) return corrupt("unknown format version");
    const std::uint64_t nbuf = get<std::uint32_t>(image, 12);
    const std::uint64_t payload = get<std::uint64_t>(image, 16);
    const std::uint64_t expected = kFixedHeader + 8 * nbuf + payload;
    if (image.size() != expected) {
      return corrupt(internal::cat(image.size() < expected ? "truncated" : "too long", ": ",
                                   image.size(), " bytes, the header says ", expected));
    }
    const std::uint64_t sum = internal::checksum64(image.data() + 32, image.size() - 32);
    if (sum != get<std::uint64_t>(image, 24)) return corrupt("checksum mismatch");
    if (get<std::uint64_t>(image, 32) != static_cast<std::uint64_t>(slot) ||
        get<std::uint64_t>(image, 40) != version) {
      return corrupt("it holds another slot's or an older checkpoint");
    }
    return {};
  }

  // Reads a whole file; returns an error message or empty.
  std::string read_file(const std::string &file, Bytes &out) const {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      return internal::cat("disk checkpoint storage: cannot open checkpoint file '", file,
                           "': ", errno_text(e));
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      return internal::cat("disk checkpoint storage: cannot stat '", file, "': ", errno_text(e));
    }
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int e = errno;
        ::close(fd);
        return internal::cat("disk checkpoint storage: reading '", file, "' failed: ",
                             errno_text(e));
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    ::close(fd);
    return {};
  }

  // Writes `image` to a temporary file and renames it into place; error message or empty.
  std::string write_file(int slot, const Bytes &image) {
    const std::string final_path = path(slot);
    const std::string tmp = final_path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      const int e = errno;
      return internal::cat("disk checkpoint storage: cannot create '", tmp, "': ", errno_text(e),
                           "; choose a writable checkpoint directory");
    }
    std::size_t done_bytes = 0;
    int e = 0;
    while (done_bytes < image.size()) {
      const ssize_t n = ::write(fd, image.data() + done_bytes, image.size() - done_bytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        e = n < 0 ? errno : ENOSPC;
        break;
      }
      done_bytes += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 && e == 0) e = errno;
    if (e == 0 && ::rename(tmp.c_str(), final_path.c_str()) != 0) e = errno;
    if (e != 0) {
      ::unlink(tmp.c_str());
      return internal::cat("disk checkpoint storage: writing checkpoint slot ", slot, " to '",
                           final_path, "' failed: ", errno_text(e),
                           e == ENOSPC ? "; free disk space, choose another checkpoint "
                                         "directory or use fewer disk snapshots"
                                       : "");
    }
    return {};
  }

  void writer_loop() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      wake_writer.wait(lock, [&] { return stopping || !writes.empty(); });
      if (stopping) return;
      Job job = std::move(writes.front());
      writes.pop_front();
      writer_busy = true;
      if (!error.empty()) {
        // After an error nothing more is written; the main thread removes the files.
      } else if (job.remove) {
        auto f = file_sizes.find(job.slot);
        if (f != file_sizes.end()) {
          disk_bytes -= f->second;
          file_sizes.erase(f);
          const std::string p = path(job.slot);
          lock.unlock();
          ::unlink(p.c_str());
          lock.lock();
        }
      } else if (slots[job.slot].version == job.version) {  // else superseded: skip
        const std::size_t old = file_sizes.count(job.slot) ? file_sizes[job.slot] : 0;
        const std::size_t size = job.image->size();
        if (options.byte_limit != 0 && disk_bytes + size > options.byte_limit) {
          // Both the old and the new file exist until the rename, as on a real disk.
          record_error(internal::cat(
              "disk checkpoint storage in '", dir, "': no space left writing checkpoint slot ",
              job.slot, " (", size, " bytes): the disk limit of ", options.byte_limit,
              " bytes is reached (", disk_bytes, " bytes in checkpoint files); raise the limit, "
              "free disk space or use fewer disk snapshots"));
        } else {
          lock.unlock();
          Bytes &image = *job.image;
          put<std::uint64_t>(image, 24, internal::checksum64(image.data() + 32, image.size() - 32));
          const std::string failure = write_file(job.slot, image);
          lock.lock();
          if (!failure.empty()) {
            record_error(failure);
          } else {
            disk_bytes = disk_bytes - old + size;
            file_sizes[job.slot] = size;
            SlotInfo &info = slots[job.slot];
            if (info.version == job.version) info.pending.reset();
          }
        }
      }
      writer_busy = false;
      done.notify_all();
    }
  }

  void reader_loop() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      wake_reader.wait(lock, [&] { return stopping || !reads.empty(); });
      if (stopping) return;
      const auto [slot, version] = reads.front();
      reads.pop_front();
      reader_busy = true;
      if (error.empty() && slots[slot].version == version) {
        lock.unlock();
        auto image = std::make_shared<Bytes>();
        const std::string file = path(slot);
        std::string failure = read_file(file, *image);
        if (failure.empty()) failure = verify(*image, slot, version, file);
        lock.lock();
        SlotInfo &info = slots[slot];
        if (info.version == version) {
          info.prefetching = false;
          if (failure.empty()) {
            info.prefetched = std::move(image);
          } else {
            info.prefetch_error = failure;
          }
        }
      } else if (slots[slot].version == version) {
        slots[slot].prefetching = false;
      }
      reader_busy = false;
      done.notify_all();
    }
  }
};

DiskStorage::DiskStorage(const std::string &directory, DiskStorageOptions options)
    : impl_(std::make_unique<Impl>()) {
  TENET_USER_CHECK(!directory.empty(), "disk checkpoint storage: the directory name is empty; "
                   "name a directory for the checkpoint files");
  TENET_USER_CHECK(options.max_pending_writes >= 1,
                   "disk checkpoint storage: max_pending_writes must be >= 1");
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  TENET_USER_CHECK(!ec && std::filesystem::is_directory(directory),
                   "disk checkpoint storage: cannot use directory '", directory, "': ",
                   ec ? ec.message() : std::string("not a directory"),
                   "; pass a directory you can write to");
  static std::atomic<unsigned> counter{0};
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  for (int attempt = 0;; ++attempt) {
    const std::string sub = internal::cat(directory, "/tenet-checkpoints-", ::getpid(), "-",
                                          counter++, "-", stamp % 1000000);
    if (::mkdir(sub.c_str(), 0700) == 0) {
      impl_->dir = sub;
      break;
    }
    const int e = errno;
    TENET_USER_CHECK(e == EEXIST && attempt < 100, "disk checkpoint storage: cannot create files "
                     "in directory '", directory, "': ", errno_text(e),
                     "; pass a directory you can write to");
  }
  impl_->options = options;
  impl_->writer = std::thread([this] { impl_->writer_loop(); });
  impl_->reader = std::thread([this] { impl_->reader_loop(); });
}

DiskStorage::~DiskStorage() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    impl_->writes.clear();
    impl_->reads.clear();
  }
  impl_->wake_writer.notify_all();
  impl_->wake_reader.notify_all();
  impl_->writer.join();
  impl_->reader.join();
  std::error_code ec;
  std::filesystem::remove_all(impl_->dir, ec);
}

void DiskStorage::save(int slot, const State &state) {
  TENET_USER_CHECK(slot >= 0, "disk checkpoint storage: slot ", slot, " is negative");
  check_state_buffers(state, "disk checkpoint storage");
  Impl &im = *impl_;
  {
    std::unique_lock<std::mutex> lock(im.mu);
    im.throw_if_failed(lock);
    im.done.wait(lock, [&] {
      return static_cast<int>(im.writes.size()) < im.options.max_pending_writes ||
             !im.error.empty();
    });
    im.throw_if_failed(lock);
  }
  // Copy the caller's buffers now (they may be overwritten as soon as we return).
  const std::size_t payload = state_bytes(state);
  const std::size_t header = kFixedHeader + 8 * state.size();
  auto image = std::make_shared<Bytes>(header + payload);
  std::memcpy(image->data(), kMagic, sizeof kMagic);
  put<std::uint32_t>(*image, 8, kFormat);
  put<std::uint32_t>(*image, 12, static_cast<std::uint32_t>(state.size()));
  put<std::uint64_t>(*image, 16, payload);
  put<std::uint64_t>(*image, 24, 0);
  put<std::uint64_t>(*image, 32, static_cast<std::uint64_t>(slot));
  std::vector<std::size_t> sizes;
  std::vector<DType> dtypes;
  std::size_t offset = header;
  for (std::size_t i = 0; i < state.size(); ++i) {
    dtypes.push_back(state[i].dtype);
    put<std::uint64_t>(*image, kFixedHeader + 8 * i, state[i].bytes());
    if (state[i].bytes() != 0) copy_bytes(image->data() + offset, state[i].data, state[i].bytes());
    offset += state[i].bytes();
    sizes.push_back(state[i].bytes());
  }
  std::unique_lock<std::mutex> lock(im.mu);
  Impl::SlotInfo &info = im.slots[slot];
  if (info.filled) im.in_use -= info.size;
  ++info.version;
  put<std::uint64_t>(*image, 40, info.version);
  info.filled = true;
  info.size = image->size();
  info.sizes = std::move(sizes);
  info.dtypes = std::move(dtypes);
  info.pending = image;
  info.prefetched.reset();
  info.prefetch_error.clear();
  info.prefetching = false;
  im.in_use += info.size;
  if (im.in_use > im.peak) im.peak = im.in_use;
  im.writes.push_back(Impl::Job{false, slot, info.version, image});
  im.wake_writer.notify_one();
}

void DiskStorage::prefetch(int slot) {
  Impl &im = *impl_;
  std::lock_guard<std::mutex> lock(im.mu);
  if (!im.error.empty()) return;
  auto it = im.slots.find(slot);
  if (it == im.slots.end() || !it->second.filled) return;
  Impl::SlotInfo &info = it->second;
  if (info.pending || info.prefetching || info.prefetched) return;
  info.prefetching = true;
  im.reads.emplace_back(slot, info.version);
  im.wake_reader.notify_one();
}

void DiskStorage::load(int slot, const State &state) {
  check_state_buffers(state, "disk checkpoint storage");
  Impl &im = *impl_;
  std::shared_ptr<Bytes> image;
  std::vector<std::size_t> sizes;
  std::vector<DType> dtypes;
  std::uint64_t version = 0;
  {
    std::unique_lock<std::mutex> lock(im.mu);
    im.throw_if_failed(lock);
    auto it = im.slots.find(slot);
    TENET_USER_CHECK(it != im.slots.end() && it->second.filled, "disk checkpoint storage: load "
                     "of slot ", slot, " which holds no state (a schedule must save before it "
                     "loads)");
    Impl::SlotInfo &info = it->second;
    sizes = info.sizes;
    dtypes = info.dtypes;
    version = info.version;
    if (info.pending) {
      image = info.pending;  // still queued or being written: serve it from memory
    } else {
      im.done.wait(lock, [&] { return !info.prefetching || !im.error.empty(); });
      im.throw_if_failed(lock);
      if (!info.prefetch_error.empty()) {
        im.record_error(info.prefetch_error);
        im.throw_if_failed(lock);
      }
      image = std::move(info.prefetched);
      info.prefetched.reset();
    }
  }
  if (!image) {
    image = std::make_shared<Bytes>();
    const std::string file = im.path(slot);
    std::string failure = im.read_file(file, *image);
    if (failure.empty()) failure = im.verify(*image, slot, version, file);
    if (!failure.empty()) {
      std::unique_lock<std::mutex> lock(im.mu);
      im.record_error(failure);
      im.throw_if_failed(lock);
    }
  }
  TENET_USER_CHECK(sizes.size() == state.size(), "disk checkpoint storage: slot ", slot,
                   " holds ", sizes.size(), " buffers but the state to load has ", state.size());
  std::size_t offset = kFixedHeader + 8 * sizes.size();
  for (std::size_t i = 0; i < state.size(); ++i) {
    TENET_USER_CHECK(dtypes[i] == state[i].dtype, "disk checkpoint storage: slot ", slot, " buffer ", i, " holds ",
                     dtype_name(dtypes[i]), " values but the state's buffer is ", dtype_name(state[i].dtype));
    TENET_USER_CHECK(sizes[i] == state[i].bytes(), "disk checkpoint storage: slot ", slot,
                     " buffer ", i, " holds ", sizes[i], " bytes but the state's buffer has ",
                     state[i].bytes());
    if (sizes[i] != 0) copy_bytes(state[i].data, image->data() + offset, sizes[i]);
    offset += sizes[i];
  }
}

void DiskStorage::free(int slot) {
  Impl &im = *impl_;
  std::unique_lock<std::mutex> lock(im.mu);
  im.throw_if_failed(lock);
  auto it = im.slots.find(slot);
  if (it == im.slots.end() || !it->second.filled) return;
  Impl::SlotInfo &info = it->second;
  im.in_use -= info.size;
  info.filled = false;
  ++info.version;  // a queued write of this slot is now superseded and skipped
  info.pending.reset();
  info.prefetched.reset();
  info.prefetch_error.clear();
  info.prefetching = false;
  im.writes.push_back(Impl::Job{true, slot, info.version, nullptr});
  im.wake_writer.notify_one();
}

void DiskStorage::finish() {
  Impl &im = *impl_;
  std::unique_lock<std::mutex> lock(im.mu);
  im.done.wait(lock, [&] {
    return (im.writes.empty() && !im.writer_busy && im.reads.empty() && !im.reader_busy) ||
           !im.error.empty();
  });
  im.throw_if_failed(lock);
}

std::size_t DiskStorage::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->in_use;
}

std::size_t DiskStorage::peak_bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->peak;
}

std::size_t DiskStorage::budget_bytes() const { return impl_->options.byte_limit; }

const std::string &DiskStorage::directory() const { return impl_->dir; }

std::string DiskStorage::slot_path(int slot) const { return impl_->path(slot); }

}  // namespace tenet
