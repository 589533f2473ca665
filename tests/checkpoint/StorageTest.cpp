// Memory and disk checkpoint storages: round trips, asynchronous I/O, and every failure giving a
// clear error with nothing left on disk.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "HashChainStepper.h"
#include "checkpoint/DiskStorage.h"
#include "checkpoint/Executor.h"
#include "checkpoint/MemoryStorage.h"
#include "checkpoint/Schedule.h"
#include "support/Bytes.h"
#include "support/Error.h"

namespace tenet {
namespace {

namespace fs = std::filesystem;
using test::HashChainStepper;

// A fresh empty directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("tenet-ckpt-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }
  bool empty() const { return fs::is_empty(path_); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

State make_state(std::vector<float> &a, std::vector<double> &b) {
  State s(2);
  s[0] = BufferRef{a.data(), a.size(), DType::Float32, {static_cast<std::int64_t>(a.size())}};
  s[1] = BufferRef{b.data(), b.size(), DType::Float64, {static_cast<std::int64_t>(b.size())}};
  return s;
}

void expect_error_containing(const std::function<void()> &f, const std::string &text) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << text << "'";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

// Checkpoint copies: small ones with memcpy, large ones split over the threads (with streaming
// stores from 8 MiB; clearing from 32 MiB): every byte arrives, whatever the sizes and
// alignments, and nothing before or past the range is touched.
TEST(checkpoint_CopyBytes, EveryByteAtAnySizeAndAlignment) {
  const std::size_t mib = std::size_t(1) << 20;
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(63), 4 * mib + 3, 8 * mib, 8 * mib + 17, 32 * mib + 17})
    for (std::size_t so : {0, 1, 7})
      for (std::size_t dof : {0, 5}) {
        std::vector<unsigned char> src(n + so), dst(n + dof + 64, 0xAB);
        for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 131 + 7);
        copy_bytes(dst.data() + dof, src.data() + so, n);
        ASSERT_TRUE(std::equal(src.begin() + static_cast<std::ptrdiff_t>(so), src.end(),
                               dst.begin() + static_cast<std::ptrdiff_t>(dof)))
            << n << " bytes, offsets " << so << " / " << dof;
        for (std::size_t i = 0; i < dof; ++i) ASSERT_EQ(dst[i], 0xAB) << "before the copy";
        for (std::size_t i = n + dof; i < dst.size(); ++i) ASSERT_EQ(dst[i], 0xAB) << "after the copy";
        clear_bytes(dst.data() + dof, n);
        ASSERT_TRUE(std::all_of(dst.begin() + static_cast<std::ptrdiff_t>(dof),
                                dst.begin() + static_cast<std::ptrdiff_t>(dof + n), [](unsigned char c) { return c == 0; }))
            << n << " bytes cleared at offset " << dof;
        for (std::size_t i = 0; i < dof; ++i) ASSERT_EQ(dst[i], 0xAB) << "before the cleared range";
        for (std::size_t i = n + dof; i < dst.size(); ++i) ASSERT_EQ(dst[i], 0xAB) << "after the cleared range";
      }
}

TEST(checkpoint_MemoryStorage, RoundTripReplaceAndBudget) {
  std::vector<float> a(100, 1.5f);
  std::vector<double> b(10, 2.5);
  const State s = make_state(a, b);
  MemoryStorage m(2 * state_bytes(s));
  m.save(0, s);
  a.assign(100, 0.f);
  m.load(0, s);
  EXPECT_EQ(a[99], 1.5f);
  m.save(0, s);  // replacing does not count twice
  m.save(1, s);
  EXPECT_EQ(m.bytes_in_use(), 2 * state_bytes(s));
  expect_error_containing([&] { m.save(2, s); }, "budget");
  EXPECT_EQ(m.bytes_in_use(), 2 * state_bytes(s));
  m.free(0);
  m.save(2, s);
  EXPECT_EQ(m.peak_bytes(), 2 * state_bytes(s));
  expect_error_containing([&] { m.load(0, s); }, "holds no state");
  std::vector<float> small(5);
  std::vector<double> small_b(10);
  expect_error_containing([&] { m.load(1, make_state(small, small_b)); }, "bytes");
}

// Checkpoints by reference: a reserved slot is a save whose bytes the caller writes in place,
// a view reads a slot where it lies; both laid out like the state, aligned like it, within the
// budget.
TEST(checkpoint_MemoryStorage, ReserveAndViewInPlace) {
  for (std::size_t shift : {0, 4, 20, 60}) {
    SCOPED_TRACE(shift);
    std::vector<float> raw(200 + 16, 0.f);
    // A source buffer `shift` bytes past a cache line, as a field's level may be.
    auto *line = reinterpret_cast<float *>((reinterpret_cast<std::uintptr_t>(raw.data()) + 63) / 64 * 64);
    BufferRef a{reinterpret_cast<unsigned char *>(line) + shift, 150, DType::Float32, {10, 15}};
    std::vector<double> b(10, 2.5);
    const State layout = {a, BufferRef{b.data(), b.size(), DType::Float64, {10}}};
    MemoryStorage m(2 * state_bytes(layout));
    ASSERT_TRUE(m.by_reference());
    const State slot = m.reserve(3, layout);
    ASSERT_EQ(slot.size(), 2u);
    EXPECT_EQ(m.bytes_in_use(), state_bytes(layout));
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(slot[i].count, layout[i].count);
      EXPECT_EQ(slot[i].dtype, layout[i].dtype);
      EXPECT_EQ(slot[i].shape, layout[i].shape);
      EXPECT_NE(slot[i].data, layout[i].data);
    }
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(slot[0].data) % 64, reinterpret_cast<std::uintptr_t>(a.data) % 64);
    // Written in place, then loaded like any save.
    for (std::size_t k = 0; k < 150; ++k) static_cast<float *>(slot[0].data)[k] = float(k);
    for (std::size_t k = 0; k < 10; ++k) static_cast<double *>(slot[1].data)[k] = -double(k);
    m.load(3, layout);
    EXPECT_EQ(static_cast<float *>(a.data)[149], 149.f);
    EXPECT_EQ(b[9], -9.0);
    // A view of a slot saved by copy holds the saved bytes, where the slot keeps them.
    b.assign(10, 7.0);
    m.save(4, layout);
    const State view = m.view(4);
    ASSERT_EQ(view.size(), 2u);
    EXPECT_EQ(static_cast<const double *>(view[1].data)[3], 7.0);
    EXPECT_EQ(m.view(4)[0].data, view[0].data);
    // Reserving beyond the budget fails as a save would, and changes nothing.
    expect_error_containing([&] { m.reserve(5, layout); }, "budget");
    EXPECT_EQ(m.bytes_in_use(), 2 * state_bytes(layout));
    m.free(4);
    expect_error_containing([&] { m.view(4); }, "holds no state");
  }
}

// A buffer with elements but no data pointer is an error, not a segfault in the copy.
TEST(checkpoint_Storage, BuffersWithoutDataAreRefused) {
  const State bad{BufferRef{nullptr, 10, DType::Float64, {10}}};
  MemoryStorage memory;
  expect_error_containing([&] { memory.save(0, bad); }, "no data pointer");
  std::vector<double> ok(10, 1.0);
  memory.save(0, {BufferRef{ok.data(), 10, DType::Float64, {10}}});
  expect_error_containing([&] { memory.load(0, bad); }, "no data pointer");
  TempDir dir;
  DiskStorage disk(dir.str());
  expect_error_containing([&] { disk.save(0, bad); }, "no data pointer");
}

// A slot loads only into buffers of the element types it was saved from: float64 saved and
// float32 loaded, of the same byte count, would otherwise pass garbage on silently.
TEST(checkpoint_Storage, LoadsCheckElementTypes) {
  std::vector<double> saved(10, 1.5);
  std::vector<float> other(20, 0.0f);
  const State as_double{BufferRef{saved.data(), 10, DType::Float64, {10}}};
  const State as_float{BufferRef{other.data(), 20, DType::Float32, {20}}};
  MemoryStorage memory;
  memory.save(0, as_double);
  expect_error_containing([&] { memory.load(0, as_float); }, "holds float64 values");
  TempDir dir;
  DiskStorage disk(dir.str());
  disk.save(0, as_double);
  expect_error_containing([&] { disk.load(0, as_float); }, "holds float64 values");
  disk.finish();  // now from the file, not the pending image
  expect_error_containing([&] { disk.load(0, as_float); }, "holds float64 values");
  EXPECT_EQ(other, std::vector<float>(20, 0.0f));
  std::vector<double> back(10, 0.0);
  disk.load(0, {BufferRef{back.data(), 10, DType::Float64, {10}}});
  EXPECT_EQ(back, saved);
}

// Snapshots beyond the steps are never used; declaring them cost memory and time linear in
// their count (INT_MAX: 8 GB and half a minute).
TEST(checkpoint_Schedule, SnapshotsBeyondTheStepsAreNotDeclared) {
  const int most = std::numeric_limits<int>::max();
  for (const Schedule &s : {revolve_schedule(10, most), online_revolve_schedule(10, most),
                            periodic_schedule(10, most, 0), two_level_schedule(10, 2, most, 1, 1)}) {
    SCOPED_TRACE(s.name);
    EXPECT_LE(s.slots[kMemoryLevel], 10);
    EXPECT_LE(s.slots[kDiskLevel], 10);
    EXPECT_EQ(analyze_schedule(s).reverse_steps, 10);
  }
}

TEST(checkpoint_DiskStorage, RoundTripWithPrefetchAndCleanup) {
  TempDir dir;
  std::string sub;
  {
    DiskStorage disk(dir.str());
    sub = disk.directory();
    EXPECT_TRUE(fs::is_directory(sub));
    std::vector<float> a(1000);
    std::vector<double> b(300);
    const State s = make_state(a, b);
    for (int slot = 0; slot < 5; ++slot) {
      for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(slot * 1000 + i);
      for (std::size_t i = 0; i < b.size(); ++i) b[i] = slot + i * 0.5;
      disk.save(slot, s);
    }
    disk.finish();
    EXPECT_TRUE(fs::exists(disk.slot_path(3)));
    EXPECT_EQ(disk.bytes_in_use(), 5 * fs::file_size(disk.slot_path(3)));
    for (int slot : {4, 1, 3}) {
      disk.prefetch(slot);
      disk.load(slot, s);
      EXPECT_EQ(a[7], float(slot * 1000 + 7));
      EXPECT_EQ(b[299], slot + 299 * 0.5);
    }
    disk.free(3);
    disk.finish();
    EXPECT_FALSE(fs::exists(disk.slot_path(3)));
  }
  EXPECT_FALSE(fs::exists(sub));
  EXPECT_TRUE(dir.empty());
}

TEST(checkpoint_DiskStorage, ExecutorRunsTwoLevelScheduleOnDisk) {
  TempDir dir;
  for (auto [n, m, d] : {std::tuple{60, 2, 3}, {200, 3, 4}, {33, 0, 3}}) {
    const Schedule sched = two_level_schedule(n, m, d, 2.0, 1.0);
    HashChainStepper stepper(n, 4096);  // 32 KiB per state
    MemoryStorage memory;
    DiskStorage disk(dir.str());
    const ExecutionStats stats = execute_schedule(sched, stepper, memory, &disk);
    ASSERT_TRUE(stepper.errors.empty()) << stepper.errors.front();
    EXPECT_EQ(stepper.adjoint, test::expected_adjoint(n));
    const ScheduleCost c = analyze_schedule(sched);
    EXPECT_EQ(stats.saves[kDiskLevel], c.saves[kDiskLevel]);
    EXPECT_EQ(stats.loads[kDiskLevel], c.loads[kDiskLevel]);
    EXPECT_GT(stats.saves[kDiskLevel], 0);
    EXPECT_LE(stats.peak_bytes_disk, std::size_t(d) * (stepper.bytes() + 64));
    EXPECT_GE(stats.seconds_total, stats.seconds_forward + stats.seconds_reverse);
    EXPECT_EQ(disk.bytes_in_use(), 0u);
    EXPECT_TRUE(fs::is_empty(disk.directory()));  // every file removed at the end
  }
  EXPECT_TRUE(dir.empty());
}

TEST(checkpoint_DiskStorage, RevolveEntirelyOnDiskWithManySlots) {
  TempDir dir;
  const Schedule sched = revolve_schedule(300, 12);
  HashChainStepper stepper(300, 2048, DType::Float32);
  DiskStorage disk(dir.str(), DiskStorageOptions{0, 2});
  const ExecutionStats stats = execute_schedule(sched, stepper, disk);
  ASSERT_TRUE(stepper.errors.empty()) << stepper.errors.front();
  EXPECT_EQ(stepper.adjoint, test::expected_adjoint(300));
  EXPECT_EQ(stats.forward_steps, internal::revolve_cost(300, 12));
}

TEST(checkpoint_DiskStorage, UnwritableDirectoryIsAClearError) {
  TempDir dir;
  const std::string file = dir.str() + "/a-file";
  std::ofstream(file) << "x";
  // A path below a regular file cannot be created, whoever runs the test (root included).
  expect_error_containing([&] { DiskStorage disk(file + "/sub"); }, "cannot use directory");
  expect_error_containing([&] { DiskStorage disk(file); }, "cannot use directory");
  expect_error_containing([&] { DiskStorage disk(""); }, "empty");
  fs::remove(file);
  EXPECT_TRUE(dir.empty());
}

TEST(checkpoint_DiskStorage, FullDiskIsAClearErrorAndLeavesNothing) {
  TempDir dir;
  HashChainStepper stepper(100, 1000);
  // Room for 3 checkpoint files; revolve with 6 snapshots needs 6.
  DiskStorage disk(dir.str(), DiskStorageOptions{3 * (stepper.bytes() + 100), 4});
  const std::string sub = disk.directory();
  expect_error_containing([&] { execute_schedule(revolve_schedule(100, 6), stepper, disk); },
                          "no space left");
  EXPECT_FALSE(fs::exists(sub));
  EXPECT_TRUE(dir.empty());
  // Further use keeps reporting the error instead of pretending to work.
  std::vector<float> a(4);
  std::vector<double> b(4);
  expect_error_containing([&] { disk.save(0, make_state(a, b)); }, "no space left");
}

void corrupt_and_load(const std::function<void(const std::string &)> &damage,
                      const std::string &expected, bool prefetch = false) {
  TempDir dir;
  std::vector<float> a(512, 3.f);
  std::vector<double> b(64, 4.0);
  const State s = make_state(a, b);
  {
    DiskStorage disk(dir.str());
    disk.save(0, s);
    disk.save(1, s);
    disk.finish();
    damage(disk.slot_path(1));
    disk.load(0, s);  // the other slot is fine
    if (prefetch) disk.prefetch(1);
    expect_error_containing([&] { disk.load(1, s); }, expected);
    EXPECT_FALSE(fs::exists(disk.directory()));  // removed as soon as the error is known
    expect_error_containing([&] { disk.load(0, s); }, expected);
  }
  EXPECT_TRUE(dir.empty());
}

TEST(checkpoint_DiskStorage, TruncatedFileIsDetected) {
  corrupt_and_load([](const std::string &p) { fs::resize_file(p, fs::file_size(p) - 10); },
                   "truncated");
}

TEST(checkpoint_DiskStorage, AlteredFileIsDetected) {
  corrupt_and_load(
      [](const std::string &p) {
        std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(200);
        f.put('\x7f');
      },
      "checksum mismatch");
}

TEST(checkpoint_DiskStorage, AlteredFileIsDetectedThroughPrefetch) {
  corrupt_and_load(
      [](const std::string &p) {
        std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-3, std::ios::end);
        f.put('\x01');
      },
      "corrupt", true);
}

TEST(checkpoint_DiskStorage, DeletedFileIsAClearError) {
  corrupt_and_load([](const std::string &p) { fs::remove(p); }, "cannot open");
}

TEST(checkpoint_DiskStorage, ErrorInTheSteppedCodeStillCleansUp) {
  struct Failing : HashChainStepper {
    using HashChainStepper::HashChainStepper;
    void reverse(int t0, int t1) override {
      if (t0 == 20) throw Error("adjoint blew up");
      HashChainStepper::reverse(t0, t1);
    }
  };
  TempDir dir;
  Failing stepper(50, 100);
  DiskStorage disk(dir.str());
  expect_error_containing([&] { execute_schedule(revolve_schedule(50, 5), stepper, disk); },
                          "adjoint blew up");
  disk.finish();
  EXPECT_TRUE(fs::is_empty(disk.directory()));  // the executor freed every slot
  EXPECT_EQ(disk.bytes_in_use(), 0u);
}

}  // namespace
}  // namespace tenet
