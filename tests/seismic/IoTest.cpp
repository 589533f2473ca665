// File I/O: .npy, raw float32 and SEG-Y round trips, clear errors on corrupt or mismatched
// files, and atomic writes (nothing half-written after an error).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "seismic/SeismicIO.h"
#include "support/Error.h"

namespace fs = std::filesystem;
using namespace tenet;

namespace {

/// A fresh directory per test, removed afterwards.
class seismic_io : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tenet_seismic_io_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }
  /// Names of the files in the directory (to see leftovers of failed writes).
  std::vector<std::string> listing() const {
    std::vector<std::string> out;
    for (const auto &e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    return out;
  }
  fs::path dir_;
};

Array ramp(std::vector<std::int64_t> shape) {
  Array a;
  a.shape = std::move(shape);
  a.data.resize(static_cast<size_t>(a.size()));
  for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = std::sin(0.37 * static_cast<double>(i)) * 1e3 + 0.1234567891;
  return a;
}

void write_bytes(const std::string &p, const std::string &bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string read_bytes(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

/// A format-1.0 .npy header for `dict` (padded to 64 bytes), followed by `data_bytes` zeros.
std::string npy_with_header(const std::string &dict, size_t data_bytes) {
  std::string h = dict;
  const size_t total = (10 + h.size() + 1 + 63) / 64 * 64;
  h.append(total - 10 - h.size() - 1, ' ');
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  out += h;
  out.append(data_bytes, '\0');
  return out;
}

template <class F>
std::string error_of(F &&f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "<no error>";
}

ShotRecord make_shot(int ndim, std::int64_t nt, std::int64_t nrec, double dt) {
  ShotRecord s;
  s.ndim = ndim;
  s.dt = dt;
  s.nt = nt;
  s.nrec = nrec;
  s.shot_id = 7;
  s.source = ndim == 2 ? std::vector<double>{512.25, 20.0} : std::vector<double>{512.25, 300.5, 20.0};
  for (std::int64_t r = 0; r < nrec; ++r) {
    s.receivers.push_back(12.5 * static_cast<double>(r));
    if (ndim == 3) s.receivers.push_back(100.0 + 0.001 * static_cast<double>(r));
    s.receivers.push_back(10.0);
  }
  for (std::int64_t t = 0; t < nt; ++t)
    for (std::int64_t r = 0; r < nrec; ++r)
      s.data.push_back(std::exp(-0.01 * static_cast<double>(t)) * std::cos(0.3 * static_cast<double>(t + r)) * 1e-3);
  return s;
}

/// Lowers the file size limit for the lifetime of the object, so writes fail with EFBIG part
/// way through (as on a full disk).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit r = old_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  sighandler_t old_handler_;
};

}  // namespace

// --- .npy -------------------------------------------------------------------------------------

TEST_F(seismic_io, NpyRoundTripFloat32And64In1To3D) {
  for (auto shape : std::vector<std::vector<std::int64_t>>{{17}, {5, 9}, {3, 4, 7}}) {
    const Array a = ramp(shape);
    for (NpyType t : {NpyType::Float32, NpyType::Float64}) {
      const std::string p = path("a.npy");
      write_npy(p, a, t);
      NpyType got_type{};
      const Array b = read_npy(p, &got_type);
      EXPECT_EQ(got_type, t);
      ASSERT_EQ(b.shape, a.shape);
      ASSERT_EQ(b.data.size(), a.data.size());
      for (size_t i = 0; i < a.data.size(); ++i) {
        if (t == NpyType::Float64)
          ASSERT_EQ(b.data[i], a.data[i]);
        else
          ASSERT_EQ(b.data[i], static_cast<double>(static_cast<float>(a.data[i])));
      }
      // The data starts at a multiple of 64 bytes, as numpy writes it.
      EXPECT_EQ((fs::file_size(p) - a.data.size() * (t == NpyType::Float32 ? 4 : 8)) % 64, 0u);
    }
  }
}

TEST_F(seismic_io, NpyHeaderIsWhatNumpyWrites) {
  write_npy(path("a.npy"), ramp({3, 4}), NpyType::Float32);
  const std::string b = read_bytes(path("a.npy"));
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_NE(b.find("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"), std::string::npos);
  write_npy(path("b.npy"), ramp({5}), NpyType::Float64);
  EXPECT_NE(read_bytes(path("b.npy")).find("'shape': (5,)"), std::string::npos);
}

TEST_F(seismic_io, NpyReadsHeadersWrittenByOtherTools) {
  // Double quotes, no trailing comma, version 2.0 with a 4-byte header length.
  write_bytes(path("a.npy"), npy_with_header("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2, 3)}", 48));
  const Array a = read_npy(path("a.npy"));
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  std::string v2 = npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16);
  std::string h = v2.substr(10);
  std::string out("\x93NUMPY\x02\x00", 8);
  const std::uint32_t n = static_cast<std::uint32_t>(h.size() - 16);
  for (int k = 0; k < 4; ++k) out += static_cast<char>((n >> (8 * k)) & 0xff);
  write_bytes(path("v2.npy"), out + h);
  EXPECT_EQ(read_npy(path("v2.npy")).shape, (std::vector<std::int64_t>{4}));
}

TEST_F(seismic_io, NpyTruncatedFileIsReported) {
  write_npy(path("a.npy"), ramp({10, 10}), NpyType::Float32);
  fs::resize_file(path("a.npy"), fs::file_size(path("a.npy")) - 6);
  const std::string e = error_of([&] { read_npy(path("a.npy")); });
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  EXPECT_NE(e.find("a.npy"), std::string::npos) << e;
  EXPECT_NE(e.find("100 values"), std::string::npos) << e;
  // Cut inside the header.
  fs::resize_file(path("a.npy"), 30);
  EXPECT_NE(error_of([&] { read_npy(path("a.npy")); }).find("truncated inside its header"), std::string::npos);
}

TEST_F(seismic_io, NpyWrongMagicIsReported) {
  write_bytes(path("a.npy"), "PK\x03\x04 this is a zip file, not npy");
  const std::string e = error_of([&] { read_npy(path("a.npy")); });
  EXPECT_NE(e.find("not a NumPy .npy file"), std::string::npos) << e;
  write_bytes(path("empty.npy"), "");
  EXPECT_NE(error_of([&] { read_npy(path("empty.npy")); }).find("not a NumPy"), std::string::npos);
}

TEST_F(seismic_io, NpyFortranOrderIsRefusedWithTheFix) {
  write_bytes(path("f.npy"), npy_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24));
  const std::string e = error_of([&] { read_npy(path("f.npy")); });
  EXPECT_NE(e.find("Fortran"), std::string::npos) << e;
  EXPECT_NE(e.find("ascontiguousarray"), std::string::npos) << e;
}

TEST_F(seismic_io, NpyOtherElementTypesAreRefused) {
  write_bytes(path("i.npy"), npy_with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8));
  std::string e = error_of([&] { read_npy(path("i.npy")); });
  EXPECT_NE(e.find("'<i4' is not supported"), std::string::npos) << e;
  write_bytes(path("b.npy"), npy_with_header("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", 16));
  e = error_of([&] { read_npy(path("b.npy")); });
  EXPECT_NE(e.find("big-endian"), std::string::npos) << e;
}

TEST_F(seismic_io, NpyWrongDimensionsAndTrailingBytesAreReported) {
  write_bytes(path("4d.npy"), npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2, 2), }", 32));
  EXPECT_NE(error_of([&] { read_npy(path("4d.npy")); }).find("4 dimensions"), std::string::npos);
  write_bytes(path("s.npy"), npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4));
  EXPECT_NE(error_of([&] { read_npy(path("s.npy")); }).find("0 dimensions"), std::string::npos);
  write_bytes(path("long.npy"), npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12));
  EXPECT_NE(error_of([&] { read_npy(path("long.npy")); }).find("4 bytes follow"), std::string::npos);
  write_bytes(path("nodict.npy"), npy_with_header("garbage", 0));
  EXPECT_NE(error_of([&] { read_npy(path("nodict.npy")); }).find("not a Python dict"), std::string::npos);
}

TEST_F(seismic_io, NpyShapesWhoseProductOverflowsAreRefused) {
  // 8 x 8 x (2^62 + 1) multiplies to 64 in 64 bits: 256 data bytes would have passed the size check.
  write_bytes(path("wrap.npy"),
              npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8, 4611686018427387905), }", 256));
  const std::string e = error_of([&] { read_npy(path("wrap.npy")); });
  EXPECT_NE(e.find("2^40"), std::string::npos) << e;
  EXPECT_NE(e.find("wrap.npy"), std::string::npos) << e;
}

TEST_F(seismic_io, NpyShapeWrittenAsAListReads) {
  write_bytes(path("l.npy"), npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': [3, 2], }", 24));
  EXPECT_EQ(read_npy(path("l.npy")).shape, (std::vector<std::int64_t>{3, 2}));
}

TEST_F(seismic_io, MissingFileNamesThePath) {
  const std::string e = error_of([&] { read_npy(path("nope.npy")); });
  EXPECT_NE(e.find("nope.npy"), std::string::npos) << e;
  EXPECT_NE(e.find("No such file"), std::string::npos) << e;
}

// --- Raw float32 ----------------------------------------------------------------------------------

TEST_F(seismic_io, RawRoundTripIn1To3D) {
  for (auto shape : std::vector<std::vector<std::int64_t>>{{11}, {6, 5}, {2, 3, 4}}) {
    const Array a = ramp(shape);
    write_raw_f32(path("m.bin"), a);
    EXPECT_EQ(fs::file_size(path("m.bin")), 4 * a.data.size());
    const Array b = read_raw_f32(path("m.bin"), shape);
    ASSERT_EQ(b.shape, shape);
    for (size_t i = 0; i < a.data.size(); ++i) ASSERT_EQ(b.data[i], static_cast<double>(static_cast<float>(a.data[i])));
  }
}

TEST_F(seismic_io, RawSizeMismatchNamesBothSizes) {
  write_raw_f32(path("m.bin"), ramp({10, 20}));
  std::string e = error_of([&] { read_raw_f32(path("m.bin"), {20, 20}); });
  EXPECT_NE(e.find("800 bytes (200 values)"), std::string::npos) << e;
  EXPECT_NE(e.find("20 x 20 need 400 values"), std::string::npos) << e;
  write_bytes(path("odd.bin"), "abcde");
  e = error_of([&] { read_raw_f32(path("odd.bin"), {1}); });
  EXPECT_NE(e.find("not a whole number"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { read_raw_f32(path("m.bin"), {0, 10}); }).find("positive"), std::string::npos);
}

// --- SEG-Y --------------------------------------------------------------------------------------

TEST_F(seismic_io, SegyShotRoundTrip2D) {
  // A computed time step that microseconds cannot represent: the exact value comes back.
  const ShotRecord s = make_shot(2, 301, 40, 0.74321987654321);
  write_segy_shot(path("shot.sgy"), s);
  EXPECT_EQ(fs::file_size(path("shot.sgy")), 3600u + 40u * (240u + 4u * 301u));
  const ShotRecord r = read_segy_shot(path("shot.sgy"));
  EXPECT_EQ(r.ndim, 2);
  EXPECT_EQ(r.nt, 301);
  EXPECT_EQ(r.nrec, 40);
  EXPECT_EQ(r.dt, s.dt);
  EXPECT_EQ(r.shot_id, 7);
  ASSERT_EQ(r.source.size(), 2u);
  EXPECT_NEAR(r.source[0], 512.25, 1e-9);
  EXPECT_NEAR(r.source[1], 20.0, 1e-9);
  ASSERT_EQ(r.receivers.size(), s.receivers.size());
  for (size_t i = 0; i < s.receivers.size(); ++i) EXPECT_NEAR(r.receivers[i], s.receivers[i], 5e-4);
  ASSERT_EQ(r.data.size(), s.data.size());
  for (size_t i = 0; i < s.data.size(); ++i) ASSERT_EQ(r.data[i], static_cast<double>(static_cast<float>(s.data[i])));
}

TEST_F(seismic_io, SegyShotRoundTrip3D) {
  const ShotRecord s = make_shot(3, 50, 12, 2.0);
  write_segy_shot(path("shot3.sgy"), s);
  const ShotRecord r = read_segy_shot(path("shot3.sgy"));
  EXPECT_EQ(r.ndim, 3);
  EXPECT_EQ(r.dt, 2.0);
  ASSERT_EQ(r.source.size(), 3u);
  EXPECT_NEAR(r.source[1], 300.5, 1e-9);
  for (size_t i = 0; i < s.receivers.size(); ++i) EXPECT_NEAR(r.receivers[i], s.receivers[i], 5e-4);
  for (size_t i = 0; i < s.data.size(); ++i) ASSERT_EQ(r.data[i], static_cast<double>(static_cast<float>(s.data[i])));
}

TEST_F(seismic_io, SegyShotHeadersFollowTheStandard) {
  // Checked on the bytes, independently of segyio: big-endian fields at the SEG-Y rev 1 offsets.
  write_segy_shot(path("shot.sgy"), make_shot(2, 100, 3, 0.5));
  const std::string b = read_bytes(path("shot.sgy"));
  auto be16 = [&](size_t byte1) {  // 1-based byte position, as the standard numbers them
    return static_cast<std::int16_t>((static_cast<unsigned char>(b[byte1 - 1]) << 8) | static_cast<unsigned char>(b[byte1]));
  };
  auto be32 = [&](size_t byte1) {
    std::uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(b[byte1 - 1 + k]);
    return static_cast<std::int32_t>(v);
  };
  EXPECT_EQ(static_cast<unsigned char>(b[0]), 0xC3);  // 'C' in EBCDIC
  EXPECT_EQ(be16(3217), 500);                        // sample interval, us
  EXPECT_EQ(be16(3221), 100);                        // samples per trace
  EXPECT_EQ(be16(3225), 5);                          // IEEE float
  EXPECT_EQ(be16(3501), 0x0100);                     // revision 1.0
  const size_t t2 = 3600 + 240 + 400;                // second trace header
  EXPECT_EQ(be32(t2 + 9), 7);                        // field record
  EXPECT_EQ(be16(t2 + 71), -1000);                   // coordinate scalar
  EXPECT_EQ(be32(t2 + 73), 512250);                  // source x, mm
  EXPECT_EQ(be32(t2 + 81), 12500);                   // receiver x, mm
  EXPECT_EQ(be32(t2 + 41), -10000);                  // receiver elevation, mm
  EXPECT_EQ(be16(t2 + 115), 100);
  EXPECT_EQ(be16(t2 + 117), 500);
}

TEST_F(seismic_io, SegyModelRoundTrip) {
  std::vector<double> v;
  for (int i = 0; i < 30; ++i)
    for (int k = 0; k < 20; ++k) v.push_back(1.5 + 0.01 * i + 0.1 * k);
  write_segy_model(path("model.sgy"), {30, 20}, v, 12.5, 7.5);
  const SegyModel m = read_segy_model(path("model.sgy"));
  EXPECT_EQ(m.shape, (std::vector<std::int64_t>{30, 20}));
  EXPECT_EQ(m.dx, 12.5);
  EXPECT_EQ(m.dz, 7.5);
  ASSERT_EQ(m.values.size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(m.values[i], static_cast<double>(static_cast<float>(v[i])));
}

TEST_F(seismic_io, SegyModelWithoutOurTextHeaderTakesDxFromTraceX) {
  std::vector<double> v(8 * 5, 2000.0);
  write_segy_model(path("model.sgy"), {8, 5}, v, 25, 10);
  // Blank out the textual header (a file from another tool): dx comes from the receiver x.
  std::string b = read_bytes(path("model.sgy"));
  std::fill(b.begin(), b.begin() + 3200, '\x40');
  write_bytes(path("other.sgy"), b);
  const SegyModel m = read_segy_model(path("other.sgy"));
  EXPECT_EQ(m.dx, 25.0);
  EXPECT_EQ(m.dz, 0.0);
  EXPECT_EQ(m.values[0], 2000.0);
}

TEST_F(seismic_io, SegyWrongTraceLengthIsReported) {
  write_segy_shot(path("shot.sgy"), make_shot(2, 100, 5, 1.0));
  std::string b = read_bytes(path("shot.sgy"));
  // The binary header claims 101 samples: the file size no longer fits.
  std::string bad = b;
  bad[3220] = 0;
  bad[3221] = 101;
  write_bytes(path("bin.sgy"), bad);
  std::string e = error_of([&] { read_segy_shot(path("bin.sgy")); });
  EXPECT_NE(e.find("does not fit the trace length"), std::string::npos) << e;
  EXPECT_NE(e.find("101 samples"), std::string::npos) << e;
  // One trace header disagrees with the binary header.
  bad = b;
  const size_t t3 = 3600 + 2 * (240 + 400);
  bad[t3 + 114] = 0;
  bad[t3 + 115] = 99;
  write_bytes(path("tr.sgy"), bad);
  e = error_of([&] { read_segy_shot(path("tr.sgy")); });
  EXPECT_NE(e.find("trace 3 has 99 samples"), std::string::npos) << e;
  // Truncated in the last trace.
  write_bytes(path("cut.sgy"), b.substr(0, b.size() - 10));
  e = error_of([&] { read_segy_shot(path("cut.sgy")); });
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  EXPECT_NE(e.find("cut.sgy"), std::string::npos) << e;
}

// A file cut (or extended) at a trace boundary is valid SEG-Y; the counts in our textual header
// tell that traces are missing.
TEST_F(seismic_io, SegyFilesCutAtATraceBoundaryAreReported) {
  write_segy_shot(path("shot.sgy"), make_shot(2, 100, 5, 1.0));
  const std::string b = read_bytes(path("shot.sgy"));
  const size_t trace = 240 + 4 * 100;
  write_bytes(path("short.sgy"), b.substr(0, b.size() - trace));
  std::string e = error_of([&] { read_segy_shot(path("short.sgy")); });
  EXPECT_NE(e.find("NREC 5"), std::string::npos) << e;
  EXPECT_NE(e.find("holds 4"), std::string::npos) << e;
  std::vector<double> v(30 * 20, 2.0);
  write_segy_model(path("model.sgy"), {30, 20}, v, 10, 10);
  const std::string m = read_bytes(path("model.sgy"));
  write_bytes(path("long.sgy"), m + m.substr(m.size() - (240 + 4 * 20)));
  e = error_of([&] { read_segy_model(path("long.sgy")); });
  EXPECT_NE(e.find("NX 30"), std::string::npos) << e;
  EXPECT_NE(e.find("holds 31"), std::string::npos) << e;
}

// Outputs are renamed into place: onto a FIFO or device that would replace it with a file
// (`tenet decompress x.tnz /dev/null` once did), onto a symbolic link it would replace the link.
TEST_F(seismic_io, WritesGoThroughSymbolicLinksAndRefuseSpecialFiles) {
  fs::create_symlink("target.npy", path("link.npy"));
  write_npy(path("link.npy"), ramp({3}), NpyType::Float32);
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(path("link.npy"))));
  EXPECT_EQ(read_npy(path("target.npy")).shape, (std::vector<std::int64_t>{3}));
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  const std::string e = error_of([&] { write_npy(path("fifo"), ramp({3}), NpyType::Float32); });
  EXPECT_NE(e.find("not a regular file"), std::string::npos) << e;
  EXPECT_TRUE(fs::is_fifo(path("fifo")));
}

TEST_F(seismic_io, SegyNonSegyFilesAreReported) {
  write_bytes(path("tiny.sgy"), "hello");
  EXPECT_NE(error_of([&] { read_segy_shot(path("tiny.sgy")); }).find("not a SEG-Y file"), std::string::npos);
  write_segy_shot(path("shot.sgy"), make_shot(2, 10, 2, 1.0));
  std::string b = read_bytes(path("shot.sgy"));
  b[3224] = 0;
  b[3225] = 3;  // 2-byte integers
  write_bytes(path("int.sgy"), b);
  const std::string e = error_of([&] { read_segy_shot(path("int.sgy")); });
  EXPECT_NE(e.find("sample format code 3"), std::string::npos) << e;
}

TEST_F(seismic_io, SegyLimitsGiveClearErrors) {
  ShotRecord s = make_shot(2, 10, 2, 40.0);
  EXPECT_NE(error_of([&] { write_segy_shot(path("s.sgy"), s); }).find("sample interval"), std::string::npos);
  s = make_shot(2, 10, 2, 1.0);
  s.receivers.pop_back();
  EXPECT_NE(error_of([&] { write_segy_shot(path("s.sgy"), s); }).find("receiver coordinates"), std::string::npos);
  EXPECT_TRUE(listing().empty());
}

// --- Atomic writes ------------------------------------------------------------------------------

TEST_F(seismic_io, FailedWriteLeavesNoFileAndNoTemporary) {
  EXPECT_THROW(write_atomically(path("out.txt"),
                                [](const std::string &tmp) {
                                  std::ofstream(tmp) << "half of it";
                                  throw Error("interrupted");
                                }),
               Error);
  EXPECT_TRUE(listing().empty());
}

TEST_F(seismic_io, FailedWriteKeepsThePreviousFile) {
  write_npy(path("m.npy"), ramp({4}), NpyType::Float64);
  const std::string before = read_bytes(path("m.npy"));
  {
    FileSizeLimit limit(4096);  // the new file is larger: its write fails part way
    const std::string e = error_of([&] { write_npy(path("m.npy"), ramp({100, 100}), NpyType::Float64); });
    EXPECT_NE(e.find("cannot write"), std::string::npos) << e;
  }
  EXPECT_EQ(read_bytes(path("m.npy")), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"m.npy"});
}

TEST_F(seismic_io, FailedSegyWriteLeavesNothing) {
  {
    FileSizeLimit limit(8192);
    const std::string e = error_of([&] { write_segy_shot(path("shot.sgy"), make_shot(2, 500, 50, 1.0)); });
    EXPECT_NE(e.find("cannot write SEG-Y"), std::string::npos) << e;
  }
  EXPECT_TRUE(listing().empty());
  {
    FileSizeLimit limit(8192);
    EXPECT_THROW(write_raw_f32(path("m.bin"), ramp({100, 100})), Error);
  }
  EXPECT_TRUE(listing().empty());
}

extern "C" void remove_temporaries_and_exit(int) {
  remove_temporary_files();
  ::_exit(130);
}

TEST_F(seismic_io, InterruptedWriteLeavesThePreviousFileAndNoTemporary) {
  write_npy(path("m.npy"), ramp({4}), NpyType::Float64);
  const std::string before = read_bytes(path("m.npy"));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // What an application's SIGINT handler does; Ctrl-C arrives in the middle of a write.
    ::signal(SIGINT, remove_temporaries_and_exit);
    write_atomically(path("m.npy"), [](const std::string &tmp) {
      std::ofstream(tmp) << "half of it";
      ::raise(SIGINT);
    });
    ::_exit(0);  // not reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_EQ(read_bytes(path("m.npy")), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"m.npy"});
}

TEST_F(seismic_io, WriteIntoMissingDirectoryNamesIt) {
  const std::string e = error_of([&] { write_npy(path("no/such/dir/a.npy"), ramp({3})); });
  EXPECT_NE(e.find("does not exist"), std::string::npos) << e;
  EXPECT_NE(e.find("no/such/dir"), std::string::npos) << e;
}
