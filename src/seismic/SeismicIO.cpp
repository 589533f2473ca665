#include "seismic/SeismicIO.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include <segyio/segy.h>

#include "support/Error.h"
#include "support/Shape.h"

namespace tenet {
namespace {

namespace fs = std::filesystem;
using std::int64_t;
using std::size_t;

std::string errno_text(int e) { return std::strerror(e); }

int64_t product(const std::vector<int64_t> &shape) { return value_count(shape, "array"); }

std::string dims_text(const std::vector<int64_t> &shape) {
  std::string s;
  for (size_t d = 0; d < shape.size(); ++d) s += internal::cat(d ? " x " : "", shape[d]);
  return s.empty() ? "()" : s;
}

void write_all(int fd, const char *data, size_t n, const std::string &tmp) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(internal::cat("cannot write '", tmp, "': ", errno_text(errno),
                                "; check the free space and permissions of that directory"));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

/// The whole file, or an error naming it.
std::vector<char> read_file(const std::string &path, const std::string &what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(internal::cat("cannot open ", what, " '", path, "': ", errno_text(errno), "; check the path"));
  std::vector<char> out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      throw Error(internal::cat("cannot read ", what, " '", path, "': ", errno_text(e)));
    }
    if (r == 0) break;
    out.insert(out.end(), buf, buf + r);
  }
  ::close(fd);
  return out;
}

// Little-endian element access, independent of the host's byte order.
template <class T>
T load_le(const char *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) {
    auto *b = reinterpret_cast<unsigned char *>(&v);
    std::reverse(b, b + sizeof v);
  }
  return v;
}
template <class T>
void store_le(char *p, T v) {
  if constexpr (std::endian::native == std::endian::big) {
    auto *b = reinterpret_cast<unsigned char *>(&v);
    std::reverse(b, b + sizeof v);
  }
  std::memcpy(p, &v, sizeof v);
}

void check_array(const Array &a, const std::string &path, const char *fn) {
  TENET_USER_CHECK(!a.shape.empty() && a.shape.size() <= 3, fn, " '", path, "': the array needs 1 to 3 dimensions, not ",
                   a.shape.size());
  for (auto n : a.shape) TENET_USER_CHECK(n > 0, fn, " '", path, "': every dimension must be positive, got ", dims_text(a.shape));
  TENET_USER_CHECK(static_cast<int64_t>(a.data.size()) == product(a.shape), fn, " '", path, "': ", a.data.size(),
                   " values for the shape ", dims_text(a.shape), " (", product(a.shape), " values)");
}

// --- .npy header parsing ------------------------------------------------------------------------

/// The value after `'key':` in a .npy header dict, up to the matching delimiter; empty if absent.
std::string dict_value(const std::string &h, const std::string &key) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) k = h.find("\"" + key + "\"");
  if (k == std::string::npos) return {};
  size_t c = h.find(':', k);
  if (c == std::string::npos) return {};
  size_t b = h.find_first_not_of(" \t", c + 1);
  if (b == std::string::npos) return {};
  if (h[b] == '(' || h[b] == '[') {  // numpy writes a tuple; a list means the same
    size_t e = h.find(h[b] == '(' ? ')' : ']', b);
    return e == std::string::npos ? std::string() : h.substr(b, e - b + 1);
  }
  if (h[b] == '\'' || h[b] == '"') {
    size_t e = h.find(h[b], b + 1);
    return e == std::string::npos ? std::string() : h.substr(b + 1, e - b - 1);
  }
  size_t e = h.find_first_of(",}", b);
  std::string v = h.substr(b, e == std::string::npos ? std::string::npos : e - b);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  return v;
}

// --- SEG-Y --------------------------------------------------------------------------------------

std::string segy_error(int rc) {
  switch (rc) {
    case SEGY_OK: return "no error";
    case SEGY_FOPEN_ERROR: return "cannot open the file";
    case SEGY_FSEEK_ERROR: return "seek failed (the file is shorter than its headers say)";
    case SEGY_FREAD_ERROR: return "read failed (the file is truncated)";
    case SEGY_FWRITE_ERROR: return "write failed (disk full?)";
    case SEGY_INVALID_FIELD: return "invalid header field";
    case SEGY_TRACE_SIZE_MISMATCH: return "the file size does not match the trace length";
    case SEGY_INVALID_ARGS: return "invalid arguments (a header value out of range)";
    case SEGY_READONLY: return "the file is read-only";
    default: return internal::cat("segyio error ", rc);
  }
}

struct SegyCloser {
  void operator()(segy_file *f) const { segy_close(f); }
};
using SegyPtr = std::unique_ptr<segy_file, SegyCloser>;

constexpr int kCoordScalar = -1000;  // coordinates in mm
constexpr int kMaxShort = 32767;     // segyio treats the 2-byte header fields as signed

/// Our textual header: 40 lines of 80 columns, "C 1 ..." to "C40 ...".
std::string text_header(const std::vector<std::string> &lines) {
  std::string t(SEGY_TEXT_HEADER_SIZE, ' ');
  for (int i = 0; i < 40; ++i) {
    std::string line = internal::cat("C", i + 1 < 10 ? " " : "", i + 1, " ");
    if (i < static_cast<int>(lines.size())) line += lines[static_cast<size_t>(i)];
    if (i == 39) line = "C40 END TEXTUAL HEADER";
    line.resize(80, ' ');
    t.replace(static_cast<size_t>(i) * 80, 80, line);
  }
  return t;
}

// The number after `key` on our textual header's card that begins "TENET <card>" ("TENET NT
// 100 NREC 40 SHOT 1": card NT, key NREC); NaN where the file has no such card.
double card_number(const std::string &text, const std::string &card, const std::string &key) {
  const size_t k = text.find("TENET " + card + " ");
  if (k == std::string::npos) return std::nan("");
  const std::string line = " " + text.substr(k + 6, 74);
  const size_t at = line.find(" " + key + " ");
  if (at == std::string::npos) return std::nan("");
  const std::string rest = line.substr(at + key.size() + 2);
  char *end = nullptr;
  const double v = std::strtod(rest.c_str(), &end);
  return end == rest.c_str() ? std::nan("") : v;
}

// The number of our textual header's card "TENET <key> <number>".
double text_number(const std::string &text, const std::string &key) { return card_number(text, key, key); }

int32_t to_mm(double v, const std::string &what, const std::string &path) {
  const double s = std::round(v * -kCoordScalar);
  TENET_USER_CHECK(std::isfinite(v) && std::fabs(s) < 2147483647.0, "SEG-Y '", path, "': ", what, " = ", v,
                   " m does not fit a SEG-Y coordinate (|value| < 2147 km at mm resolution)");
  return static_cast<int32_t>(s);
}

double scaled(int32_t v, int32_t scalar) {
  if (scalar < 0) return static_cast<double>(v) / -scalar;
  if (scalar > 0) return static_cast<double>(v) * scalar;
  return static_cast<double>(v);
}

void set_field(char *hdr, int field, int64_t value, const std::string &path) {
  const int rc = segy_set_field(hdr, field, static_cast<int32_t>(value));
  TENET_INTERNAL_CHECK(rc == SEGY_OK, "segy_set_field(", field, ") on '", path, "': ", segy_error(rc));
}
void set_bfield(char *bin, int field, int64_t value, const std::string &path) {
  const int rc = segy_set_bfield(bin, field, static_cast<int32_t>(value));
  TENET_INTERNAL_CHECK(rc == SEGY_OK, "segy_set_bfield(", field, ") on '", path, "': ", segy_error(rc));
}
int32_t get_field(const char *hdr, int field) {
  int32_t v = 0;
  segy_get_field(hdr, field, &v);
  return v;
}

/// Writes a whole SEG-Y file (IEEE float32, big-endian) to `tmp`. `header(i, buf)` fills trace
/// i's header beyond the sample count and interval; `samples(i, out)` its samples.
void write_segy(const std::string &tmp, const std::string &path, const std::string &text, int ntraces, int nsamples,
                int interval, const std::function<void(int, char *)> &header,
                const std::function<void(int, float *)> &samples) {
  SegyPtr f(segy_open(tmp.c_str(), "w+b"));
  if (!f) throw Error(internal::cat("cannot write SEG-Y '", path, "': cannot open the temporary file '", tmp, "'"));
  auto check = [&](int rc, const char *step) {
    if (rc != SEGY_OK)
      throw Error(internal::cat("cannot write SEG-Y '", path, "': ", step, ": ", segy_error(rc),
                                "; check the free space of that directory"));
  };
  check(segy_write_textheader(f.get(), 0, text.c_str()), "textual header");
  char bin[SEGY_BINARY_HEADER_SIZE] = {};
  set_bfield(bin, SEGY_BIN_INTERVAL, interval, path);
  set_bfield(bin, SEGY_BIN_INTERVAL_ORIG, interval, path);
  set_bfield(bin, SEGY_BIN_SAMPLES, nsamples, path);
  set_bfield(bin, SEGY_BIN_SAMPLES_ORIG, nsamples, path);
  set_bfield(bin, SEGY_BIN_FORMAT, SEGY_IEEE_FLOAT_4_BYTE, path);
  set_bfield(bin, SEGY_BIN_TRACES, std::min(ntraces, kMaxShort), path);
  set_bfield(bin, SEGY_BIN_SORTING_CODE, 1, path);        // as recorded
  set_bfield(bin, SEGY_BIN_MEASUREMENT_SYSTEM, 1, path);  // metres
  // SEG-Y revision 1.0 (bytes 3501-3502) and fixed-length traces (3503-3504), written directly
  // because segyio versions disagree on these fields' widths.
  bin[3501 - 3201] = 1;
  bin[3502 - 3201] = 0;
  bin[3503 - 3201] = 0;
  bin[3504 - 3201] = 1;
  check(segy_write_binheader(f.get(), bin), "binary header");
  check(segy_set_format(f.get(), SEGY_IEEE_FLOAT_4_BYTE), "sample format");
  const long trace0 = segy_trace0(bin);
  const int bsize = segy_trsize(SEGY_IEEE_FLOAT_4_BYTE, nsamples);
  std::vector<float> buf(static_cast<size_t>(nsamples));
  for (int i = 0; i < ntraces; ++i) {
    char hdr[SEGY_TRACE_HEADER_SIZE] = {};
    set_field(hdr, SEGY_TR_SEQ_LINE, i + 1, path);
    set_field(hdr, SEGY_TR_SEQ_FILE, i + 1, path);
    set_field(hdr, SEGY_TR_TRACE_ID, 1, path);  // seismic data
    set_field(hdr, SEGY_TR_SAMPLE_COUNT, nsamples, path);
    set_field(hdr, SEGY_TR_SAMPLE_INTER, interval, path);
    set_field(hdr, SEGY_TR_COORD_UNITS, 1, path);  // length (m)
    header(i, hdr);
    check(segy_write_traceheader(f.get(), i, hdr, trace0, bsize), "trace header");
    samples(i, buf.data());
    check(segy_from_native(SEGY_IEEE_FLOAT_4_BYTE, nsamples, buf.data()), "sample conversion");
    check(segy_writetrace(f.get(), i, buf.data(), trace0, bsize), "trace samples");
  }
  check(segy_flush(f.get(), false), "flush");
  const int rc = segy_close(f.release());
  check(rc, "close");
}

/// An open SEG-Y file whose binary header and size have been checked against each other.
class SegyIn {
 public:
  SegyIn(const std::string &path, const std::string &what) : path_(path), what_(what) {
    std::error_code ec;
    const auto fsize = fs::file_size(path, ec);
    if (ec) throw Error(internal::cat("cannot open ", what, " '", path, "': ", ec.message(), "; check the path"));
    TENET_USER_CHECK(fsize >= SEGY_TEXT_HEADER_SIZE + SEGY_BINARY_HEADER_SIZE, what, " '", path,
                     "' is not a SEG-Y file: it has ", fsize, " bytes, fewer than the 3600 bytes of the textual and "
                     "binary headers");
    f_.reset(segy_open(path.c_str(), "rb"));
    if (!f_) throw Error(internal::cat("cannot open ", what, " '", path, "'; check the path and its permissions"));
    char bin[SEGY_BINARY_HEADER_SIZE];
    fail_if(segy_binheader(f_.get(), bin), "binary header");
    format_ = segy_format(bin);
    TENET_USER_CHECK(format_ == SEGY_IBM_FLOAT_4_BYTE || format_ == SEGY_IEEE_FLOAT_4_BYTE, what, " '", path,
                     "': sample format code ", format_,
                     " in the binary header (byte 3225) is not supported; Tenet reads 4-byte IBM (1) or IEEE (5) "
                     "floats, big-endian; convert the file (e.g. with segyio or SU's segyread/segywrite)");
    samples_ = segy_samples(bin);
    if (samples_ < 0) samples_ += 65536;  // rev 1: the field is unsigned
    TENET_USER_CHECK(samples_ > 0, what, " '", path,
                     "': the binary header (byte 3221) gives 0 samples per trace; the file is not a valid SEG-Y");
    int32_t iv = 0;
    segy_get_bfield(bin, SEGY_BIN_INTERVAL, &iv);
    interval_ = iv;
    trace0_ = segy_trace0(bin);
    bsize_ = segy_trsize(format_, samples_);
    fail_if(segy_set_format(f_.get(), format_), "sample format");
    const auto per_trace = static_cast<std::uintmax_t>(SEGY_TRACE_HEADER_SIZE + bsize_);
    const auto data_bytes = fsize > static_cast<std::uintmax_t>(trace0_) ? fsize - static_cast<std::uintmax_t>(trace0_) : 0;
    TENET_USER_CHECK(trace0_ >= 3600 && data_bytes % per_trace == 0 && data_bytes > 0, what, " '", path,
                     "': its size (", fsize, " bytes) does not fit the trace length of the binary header: ", samples_,
                     " samples of 4 bytes plus a 240-byte header per trace after ", trace0_,
                     " header bytes; the file is truncated, or its traces do not have ", samples_, " samples");
    const int rc = segy_traces(f_.get(), &traces_, trace0_, bsize_);
    fail_if(rc, "trace count");
    char hdr[SEGY_TRACE_HEADER_SIZE];
    for (int i = 0; i < traces_; ++i) {
      fail_if(segy_traceheader(f_.get(), i, hdr, trace0_, bsize_), "trace header");
      int32_t n = get_field(hdr, SEGY_TR_SAMPLE_COUNT);
      if (n < 0) n += 65536;
      TENET_USER_CHECK(n == 0 || n == samples_, what, " '", path, "': trace ", i + 1, " has ", n,
                       " samples in its header (bytes 115-116) but the binary header says ", samples_,
                       "; Tenet reads only files whose traces all have the same length");
      if (i == 0 && interval_ <= 0) interval_ = get_field(hdr, SEGY_TR_SAMPLE_INTER);
    }
    char text[SEGY_TEXT_HEADER_SIZE + 1] = {};
    if (segy_read_textheader(f_.get(), text) == SEGY_OK) text_.assign(text, SEGY_TEXT_HEADER_SIZE);
  }

  int traces() const { return traces_; }
  int samples() const { return samples_; }
  int interval() const { return interval_; }
  const std::string &text() const { return text_; }

  void header(int i, char *hdr) { fail_if(segy_traceheader(f_.get(), i, hdr, trace0_, bsize_), "trace header"); }
  void trace(int i, float *out) {
    fail_if(segy_readtrace(f_.get(), i, out, trace0_, bsize_), "trace samples");
    fail_if(segy_to_native(format_, samples_, out), "sample conversion");
  }

 private:
  void fail_if(int rc, const char *step) const {
    if (rc != SEGY_OK)
      throw Error(internal::cat("cannot read ", what_, " '", path_, "': ", step, ": ", segy_error(rc),
                                "; the file is damaged or not SEG-Y"));
  }

  std::string path_, what_;
  SegyPtr f_;
  int format_ = 0, samples_ = 0, interval_ = 0, traces_ = 0, bsize_ = 0;
  long trace0_ = 0;
  std::string text_;
};

/// The temporary files being written, for remove_temporary_files(): fixed slots of plain chars
/// and lock-free atomics, so that a signal handler can read them without locks or allocation.
/// A writer claims a slot, fills in the path, then marks it ready; the handler reads only ready
/// slots.
struct PendingTemporary {
  std::atomic<bool> claimed{false}, ready{false};
  char path[PATH_MAX];
};
PendingTemporary g_pending[32];
static_assert(std::atomic<bool>::is_always_lock_free);

/// Registers a temporary file for the lifetime of the object (when a slot is free; otherwise a
/// signal may leave that one file behind, never a half-written output).
class PendingSlot {
 public:
  explicit PendingSlot(const std::string &path) {
    if (path.size() >= PATH_MAX) return;
    for (auto &p : g_pending) {
      bool expected = false;
      if (!p.claimed.compare_exchange_strong(expected, true)) continue;
      std::memcpy(p.path, path.c_str(), path.size() + 1);
      p.ready.store(true);
      slot_ = &p;
      return;
    }
  }
  ~PendingSlot() {
    if (!slot_) return;
    slot_->ready.store(false);
    slot_->claimed.store(false);
  }
  PendingSlot(const PendingSlot &) = delete;
  PendingSlot &operator=(const PendingSlot &) = delete;

 private:
  PendingTemporary *slot_ = nullptr;
};

}  // namespace

void remove_temporary_files() noexcept {
  for (auto &p : g_pending)
    if (p.ready.load()) ::unlink(p.path);
}

int64_t Array::size() const { return product(shape); }

// --- Atomic writes -----------------------------------------------------------------------------

void write_atomically(const std::string &path, const std::function<void(const std::string &)> &fill,
                      const std::string &what) {
  TENET_USER_CHECK(!path.empty(), "cannot write the ", what, ": the file name is empty");
  fs::path target(path);
  std::error_code ec;
  // A symbolic link is written through (renaming onto it would replace the link itself).
  for (int links = 0; fs::is_symlink(fs::symlink_status(target, ec)); ++links) {
    TENET_USER_CHECK(links < 40, "cannot write ", what, " '", path, "': too many levels of symbolic links");
    const fs::path to = fs::read_symlink(target, ec);
    TENET_USER_CHECK(!ec, "cannot write ", what, " '", path, "': cannot read the symbolic link: ", ec.message());
    target = to.is_absolute() ? to : target.parent_path() / to;
  }
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  TENET_USER_CHECK(fs::is_directory(dir, ec), "cannot write ", what, " '", path, "': the directory '", dir.string(),
                   "' does not exist; create it first");
  const fs::file_status existing = fs::status(target, ec);
  TENET_USER_CHECK(!fs::is_directory(existing), "cannot write ", what, " '", path,
                   "': a directory of that name exists; choose a file name");
  // The rename would replace a device or FIFO (/dev/null) with a regular file.
  TENET_USER_CHECK(!fs::exists(existing) || fs::is_regular_file(existing), "cannot write ", what, " '", path,
                   "': it exists and is not a regular file (a device, FIFO or socket); choose a file name");
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    throw Error(internal::cat("cannot write ", what, " '", path, "': cannot create a temporary file in '",
                              dir.string(), "': ", errno_text(errno), "; check that the directory is writable"));
  const std::string tmp = tmpl;
  PendingSlot pending(tmp);
  ::fchmod(fd, 0644);  // mkstemp creates 0600; outputs are for people to share
  ::close(fd);
  try {
    fill(tmp);
    const int rfd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (rfd < 0 || ::fsync(rfd) != 0) {
      const int e = errno;
      if (rfd >= 0) ::close(rfd);
      throw Error(internal::cat("cannot write ", what, " '", path, "': fsync of '", tmp, "' failed: ", errno_text(e)));
    }
    ::close(rfd);
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      throw Error(internal::cat("cannot write ", what, " '", path, "': rename from '", tmp, "' failed: ",
                                errno_text(errno)));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable; a failure here leaves a complete file, so it is not an error.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_bytes_atomically(const std::string &path, std::span<const char> bytes, const std::string &what) {
  write_atomically(
      path,
      [&](const std::string &tmp) {
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0) throw Error(internal::cat("cannot write '", tmp, "': ", errno_text(errno)));
        try {
          write_all(fd, bytes.data(), bytes.size(), tmp);
        } catch (...) {
          ::close(fd);
          throw;
        }
        if (::close(fd) != 0) throw Error(internal::cat("cannot write '", tmp, "': ", errno_text(errno)));
      },
      what);
}

// --- .npy ---------------------------------------------------------------------------------------

Array read_npy(const std::string &path, NpyType *type) {
  const std::vector<char> f = read_file(path, ".npy file");
  auto fail = [&](const std::string &why) { return Error(internal::cat(".npy file '", path, "': ", why)); };
  static const char magic[] = "\x93NUMPY";
  if (f.size() < 10 || std::memcmp(f.data(), magic, 6) != 0)
    throw fail("not a NumPy .npy file (it does not start with \\x93NUMPY); save the array with numpy.save");
  const int major = static_cast<unsigned char>(f[6]);
  size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = load_le<std::uint16_t>(f.data() + 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (f.size() < 12) throw fail("truncated inside its header");
    hlen = load_le<std::uint32_t>(f.data() + 8);
    hstart = 12;
  } else {
    throw fail(internal::cat("format version ", major, " is not supported (1, 2 or 3 are)"));
  }
  if (f.size() < hstart + hlen)
    throw fail(internal::cat("truncated inside its header (", f.size(), " bytes, the header needs ", hstart + hlen, ")"));
  const std::string h(f.data() + hstart, hlen);
  if (h.find('{') == std::string::npos || h.find('}') == std::string::npos)
    throw fail("its header is not a Python dict; the file is damaged");

  const std::string descr = dict_value(h, "descr");
  const std::string fortran = dict_value(h, "fortran_order");
  const std::string shape_s = dict_value(h, "shape");
  if (descr.empty() || fortran.empty() || shape_s.empty())
    throw fail("its header lacks 'descr', 'fortran_order' or 'shape'; the file is damaged");
  size_t item = 0;
  if (descr == "<f4") {
    item = 4;
  } else if (descr == "<f8") {
    item = 8;
  } else if (descr == ">f4" || descr == ">f8") {
    throw fail(internal::cat("big-endian data ('", descr, "') is not supported; save it little-endian: ",
                             "numpy.save(path, a.astype('<f", descr[2], "'))"));
  } else {
    throw fail(internal::cat("element type '", descr, "' is not supported; save float32 or float64: ",
                             "numpy.save(path, a.astype(numpy.float32))"));
  }
  if (fortran == "True")
    throw fail("the array is in Fortran (column-major) order; save it in C order: "
               "numpy.save(path, numpy.ascontiguousarray(a))");
  if (fortran != "False") throw fail(internal::cat("'fortran_order' is '", fortran, "', not True or False"));

  Array a;
  {
    std::string inner = shape_s.substr(1, shape_s.size() - 2);
    size_t p = 0;
    while (p < inner.size()) {
      size_t q = inner.find(',', p);
      std::string tok = inner.substr(p, q == std::string::npos ? std::string::npos : q - p);
      tok.erase(0, tok.find_first_not_of(" \tL"));
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == 'L')) tok.pop_back();
      if (!tok.empty()) {
        char *end = nullptr;
        const long long n = std::strtoll(tok.c_str(), &end, 10);
        if (*end != '\0' || n < 0) throw fail(internal::cat("bad shape ", shape_s, " in its header"));
        a.shape.push_back(n);
      }
      if (q == std::string::npos) break;
      p = q + 1;
    }
  }
  if (a.shape.empty() || a.shape.size() > 3)
    throw fail(internal::cat("the array has ", a.shape.size(), " dimensions ", shape_s, "; Tenet reads 1 to 3"));
  for (auto n : a.shape)
    if (n == 0) throw fail(internal::cat("the array is empty (shape ", shape_s, ")"));
  const int64_t count = value_count(a.shape, internal::cat(".npy file '", path, "'"));
  const size_t data0 = hstart + hlen, need = static_cast<size_t>(count) * item;
  const size_t have = f.size() - data0;
  if (have < need)
    throw fail(internal::cat("truncated: the header promises ", count, " values (", need, " bytes) of shape ",
                             dims_text(a.shape), " but the file holds ", have, " data bytes; write the file again"));
  if (have > need)
    throw fail(internal::cat(have - need, " bytes follow the ", need, " data bytes its header promises; ",
                             "the file is damaged"));
  a.data.resize(static_cast<size_t>(count));
  const char *p = f.data() + data0;
  if (item == 4)
    for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = load_le<float>(p + 4 * i);
  else
    for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = load_le<double>(p + 8 * i);
  if (type) *type = item == 4 ? NpyType::Float32 : NpyType::Float64;
  return a;
}

void write_npy(const std::string &path, const Array &array, NpyType type) {
  check_array(array, path, "write_npy");
  std::string dict = internal::cat("{'descr': '", type == NpyType::Float32 ? "<f4" : "<f8",
                                   "', 'fortran_order': False, 'shape': (");
  for (size_t d = 0; d < array.shape.size(); ++d) dict += internal::cat(d ? ", " : "", array.shape[d]);
  dict += array.shape.size() == 1 ? ",), }" : "), }";
  // Pad with spaces and a final newline so that the data starts at a multiple of 64 bytes.
  const size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  const size_t item = type == NpyType::Float32 ? 4 : 8;
  std::vector<char> out(total + array.data.size() * item);
  std::memcpy(out.data(), "\x93NUMPY\x01\x00", 8);
  store_le<std::uint16_t>(out.data() + 8, static_cast<std::uint16_t>(dict.size()));
  std::memcpy(out.data() + 10, dict.data(), dict.size());
  char *p = out.data() + total;
  for (size_t i = 0; i < array.data.size(); ++i) {
    if (item == 4)
      store_le<float>(p + 4 * i, static_cast<float>(array.data[i]));
    else
      store_le<double>(p + 8 * i, array.data[i]);
  }
  write_bytes_atomically(path, out, ".npy file");
}

// --- Raw float32 --------------------------------------------------------------------------------

Array read_raw_f32(const std::string &path, const std::vector<int64_t> &shape) {
  TENET_USER_CHECK(!shape.empty(), "raw file '", path, "': give its dimensions (C order, depth last)");
  for (auto n : shape)
    TENET_USER_CHECK(n > 0, "raw file '", path, "': the dimensions ", dims_text(shape), " must all be positive");
  const std::vector<char> f = read_file(path, "raw float32 file");
  const int64_t count = value_count(shape, internal::cat("raw file '", path, "'"));
  if (static_cast<int64_t>(f.size()) != 4 * count)
    throw Error(internal::cat("raw float32 file '", path, "' has ", f.size(), " bytes",
                              f.size() % 4 == 0 ? internal::cat(" (", f.size() / 4, " values)") : std::string(
                                                      " (not a whole number of float32 values)"),
                              " but the dimensions ", dims_text(shape), " need ", count, " values (", 4 * count,
                              " bytes); check the dimensions (C order, depth last) and that the file is float32"));
  Array a;
  a.shape = shape;
  a.data.resize(static_cast<size_t>(count));
  for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = load_le<float>(f.data() + 4 * i);
  return a;
}

void write_raw_f32(const std::string &path, const Array &array) {
  check_array(array, path, "write_raw_f32");
  std::vector<char> out(array.data.size() * 4);
  for (size_t i = 0; i < array.data.size(); ++i) store_le<float>(out.data() + 4 * i, static_cast<float>(array.data[i]));
  write_bytes_atomically(path, out, "raw float32 file");
}

// --- SEG-Y --------------------------------------------------------------------------------------

void write_segy_shot(const std::string &path, const ShotRecord &s) {
  const std::string w = internal::cat("shot record '", path, "'");
  TENET_USER_CHECK(s.ndim == 2 || s.ndim == 3, w, ": ndim must be 2 or 3, not ", s.ndim);
  TENET_USER_CHECK(s.nt > 0 && s.nrec > 0, w, ": it needs at least one receiver and one time sample (nrec = ",
                   s.nrec, ", nt = ", s.nt, ")");
  TENET_USER_CHECK(s.nt <= kMaxShort, w, ": ", s.nt, " samples per trace exceed SEG-Y's limit of ", kMaxShort,
                   "; use a larger dt for the record or write .npy");
  TENET_USER_CHECK(s.nrec < INT_MAX, w, ": too many receivers (", s.nrec, ")");
  TENET_USER_CHECK(static_cast<int64_t>(s.data.size()) == s.nt * s.nrec, w, ": ", s.data.size(),
                   " samples for nt x nrec = ", s.nt, " x ", s.nrec);
  TENET_USER_CHECK(static_cast<int64_t>(s.source.size()) == s.ndim, w, ": the source needs ", s.ndim,
                   " coordinates, not ", s.source.size());
  TENET_USER_CHECK(static_cast<int64_t>(s.receivers.size()) == s.nrec * s.ndim, w, ": ", s.receivers.size(),
                   " receiver coordinates for ", s.nrec, " receivers in ", s.ndim, "D");
  const double us = std::round(s.dt * 1000);
  TENET_USER_CHECK(std::isfinite(s.dt) && us >= 1 && us <= kMaxShort, w, ": dt = ", s.dt,
                   " ms does not fit SEG-Y's sample interval field (1 us to 32.767 ms); resample the record or "
                   "write .npy");
  const int nd = s.ndim;
  const int32_t src_x = to_mm(s.source[0], "source x", path);
  const int32_t src_y = nd == 3 ? to_mm(s.source[1], "source y", path) : 0;
  const int32_t src_z = to_mm(s.source[static_cast<size_t>(nd - 1)], "source depth", path);
  std::vector<int32_t> rx, ry, rz;
  for (int64_t r = 0; r < s.nrec; ++r) {
    const double *p = s.receivers.data() + r * nd;
    rx.push_back(to_mm(p[0], internal::cat("receiver ", r, " x"), path));
    ry.push_back(nd == 3 ? to_mm(p[1], internal::cat("receiver ", r, " y"), path) : 0);
    rz.push_back(to_mm(-p[nd - 1], internal::cat("receiver ", r, " depth"), path));
  }
  char dtbuf[64];
  std::snprintf(dtbuf, sizeof dtbuf, "%.17g", s.dt);
  const std::string text = text_header({
      "TENET SHOT RECORD",
      internal::cat("TENET NDIM ", nd),
      internal::cat("TENET DT_MS ", dtbuf),
      internal::cat("TENET NT ", s.nt, " NREC ", s.nrec, " SHOT ", s.shot_id),
      "ONE TRACE PER RECEIVER, ONE SAMPLE PER TIME STEP, IEEE FLOAT32 BIG-ENDIAN",
      "COORDINATES IN M WITH SCALAR -1000: SOURCE X/Y BYTES 73/77, DEPTH 49;",
      "RECEIVER X/Y BYTES 81/85, ELEVATION (= -DEPTH) 41",
  });
  write_atomically(
      path,
      [&](const std::string &tmp) {
        write_segy(
            tmp, path, text, static_cast<int>(s.nrec), static_cast<int>(s.nt), static_cast<int>(us),
            [&](int i, char *h) {
              const auto r = static_cast<size_t>(i);
              set_field(h, SEGY_TR_FIELD_RECORD, s.shot_id, path);
              set_field(h, SEGY_TR_ENERGY_SOURCE_POINT, s.shot_id, path);
              set_field(h, SEGY_TR_NUMBER_ORIG_FIELD, i + 1, path);
              set_field(h, SEGY_TR_SOURCE_GROUP_SCALAR, kCoordScalar, path);
              set_field(h, SEGY_TR_ELEV_SCALAR, kCoordScalar, path);
              set_field(h, SEGY_TR_SOURCE_X, src_x, path);
              set_field(h, SEGY_TR_SOURCE_Y, src_y, path);
              set_field(h, SEGY_TR_SOURCE_DEPTH, src_z, path);
              set_field(h, SEGY_TR_GROUP_X, rx[r], path);
              set_field(h, SEGY_TR_GROUP_Y, ry[r], path);
              set_field(h, SEGY_TR_RECV_GROUP_ELEV, rz[r], path);
              const double off = std::hypot(static_cast<double>(rx[r]) - src_x, static_cast<double>(ry[r]) - src_y);
              set_field(h, SEGY_TR_OFFSET, static_cast<int64_t>(std::llround(off / -kCoordScalar)), path);
            },
            [&](int i, float *out) {
              for (int64_t t = 0; t < s.nt; ++t) out[t] = static_cast<float>(s.data[static_cast<size_t>(t * s.nrec + i)]);
            });
      },
      "shot record");
}

// Files Tenet wrote say how many traces and samples they hold: a file cut at a trace boundary
// is still valid SEG-Y, so only those counts tell that traces are missing.
static void check_counts(const SegyIn &in, const std::string &path, const char *what, const char *card, const char *traces,
                         const char *samples) {
  const double nt = card_number(in.text(), card, traces), ns = card_number(in.text(), card, samples);
  TENET_USER_CHECK(!std::isfinite(nt) || nt == in.traces(), what, " '", path, "': its textual header says ", traces, " ",
                   nt, " traces but the file holds ", in.traces(), "; it was cut short, added to or damaged: write it again");
  TENET_USER_CHECK(!std::isfinite(ns) || ns == in.samples(), what, " '", path, "': its textual header says ", samples,
                   " ", ns, " samples per trace but the traces hold ", in.samples(), "; write it again");
}

ShotRecord read_segy_shot(const std::string &path) {
  SegyIn in(path, "shot record");
  check_counts(in, path, "shot record", "NT", "NREC", "NT");
  ShotRecord s;
  s.nt = in.samples();
  s.nrec = in.traces();
  TENET_USER_CHECK(in.interval() > 0, "shot record '", path,
                   "': the sample interval is 0 in the binary header (byte 3217) and the first trace header (byte "
                   "117); set it to the time step in microseconds");
  s.dt = in.interval() / 1000.0;
  // Our own files carry the exact dt, which microseconds round.
  const double exact = text_number(in.text(), "DT_MS");
  if (std::isfinite(exact) && exact > 0 && std::fabs(exact * 1000 - in.interval()) <= 0.5 + 1e-9) s.dt = exact;
  const double nd_text = text_number(in.text(), "NDIM");
  std::vector<char> hdrs(static_cast<size_t>(s.nrec) * SEGY_TRACE_HEADER_SIZE);
  bool any_y = false;
  for (int i = 0; i < in.traces(); ++i) {
    char *h = hdrs.data() + static_cast<size_t>(i) * SEGY_TRACE_HEADER_SIZE;
    in.header(i, h);
    any_y = any_y || get_field(h, SEGY_TR_GROUP_Y) != 0 || get_field(h, SEGY_TR_SOURCE_Y) != 0;
  }
  s.ndim = nd_text == 2 || nd_text == 3 ? static_cast<int>(nd_text) : any_y ? 3 : 2;
  const char *h0 = hdrs.data();
  const int32_t sc0 = get_field(h0, SEGY_TR_SOURCE_GROUP_SCALAR), el0 = get_field(h0, SEGY_TR_ELEV_SCALAR);
  s.shot_id = get_field(h0, SEGY_TR_FIELD_RECORD);
  s.source.push_back(scaled(get_field(h0, SEGY_TR_SOURCE_X), sc0));
  if (s.ndim == 3) s.source.push_back(scaled(get_field(h0, SEGY_TR_SOURCE_Y), sc0));
  s.source.push_back(scaled(get_field(h0, SEGY_TR_SOURCE_DEPTH), el0));
  for (int i = 0; i < in.traces(); ++i) {
    const char *h = hdrs.data() + static_cast<size_t>(i) * SEGY_TRACE_HEADER_SIZE;
    const int32_t sc = get_field(h, SEGY_TR_SOURCE_GROUP_SCALAR), el = get_field(h, SEGY_TR_ELEV_SCALAR);
    s.receivers.push_back(scaled(get_field(h, SEGY_TR_GROUP_X), sc));
    if (s.ndim == 3) s.receivers.push_back(scaled(get_field(h, SEGY_TR_GROUP_Y), sc));
    s.receivers.push_back(-scaled(get_field(h, SEGY_TR_RECV_GROUP_ELEV), el));
  }
  s.data.resize(static_cast<size_t>(s.nt * s.nrec));
  std::vector<float> buf(static_cast<size_t>(s.nt));
  for (int i = 0; i < in.traces(); ++i) {
    in.trace(i, buf.data());
    for (int64_t t = 0; t < s.nt; ++t) s.data[static_cast<size_t>(t * s.nrec + i)] = buf[static_cast<size_t>(t)];
  }
  return s;
}

void write_segy_model(const std::string &path, const std::vector<int64_t> &shape, const std::vector<double> &values,
                      double dx, double dz) {
  const std::string w = internal::cat("SEG-Y model '", path, "'");
  TENET_USER_CHECK(shape.size() == 2 && shape[0] > 0 && shape[1] > 0, w, ": give a 2D shape {nx, nz}, not ",
                   dims_text(shape));
  TENET_USER_CHECK(shape[1] <= kMaxShort && shape[0] < INT_MAX, w, ": ", shape[1],
                   " depth samples exceed SEG-Y's limit of ", kMaxShort);
  TENET_USER_CHECK(static_cast<int64_t>(values.size()) == product(shape), w, ": ", values.size(),
                   " values for the shape ", dims_text(shape));
  TENET_USER_CHECK(dx > 0 && dz > 0 && std::isfinite(dx) && std::isfinite(dz), w,
                   ": the spacings must be positive (m), got dx = ", dx, ", dz = ", dz);
  const double dz_mm = std::round(dz * 1000);
  const int interval = dz_mm >= 1 && dz_mm <= kMaxShort ? static_cast<int>(dz_mm) : 0;
  char dxbuf[64], dzbuf[64];
  std::snprintf(dxbuf, sizeof dxbuf, "%.17g", dx);
  std::snprintf(dzbuf, sizeof dzbuf, "%.17g", dz);
  const std::string text = text_header({
      "TENET VELOCITY MODEL",
      internal::cat("TENET DX_M ", dxbuf),
      internal::cat("TENET DZ_M ", dzbuf),
      internal::cat("TENET NX ", shape[0], " NZ ", shape[1]),
      "ONE TRACE PER X POSITION, ONE SAMPLE PER DEPTH POINT, IEEE FLOAT32 BIG-ENDIAN",
      "SAMPLE INTERVAL = DZ IN MM WHEN IT FITS; TRACE X (BYTES 81, 181) IN M, SCALAR -1000",
  });
  const int64_t nz = shape[1];
  write_atomically(
      path,
      [&](const std::string &tmp) {
        write_segy(
            tmp, path, text, static_cast<int>(shape[0]), static_cast<int>(nz), interval,
            [&](int i, char *h) {
              const int32_t x = to_mm(i * dx, "trace x", path);
              set_field(h, SEGY_TR_SOURCE_GROUP_SCALAR, kCoordScalar, path);
              set_field(h, SEGY_TR_GROUP_X, x, path);
              set_field(h, SEGY_TR_CDP_X, x, path);
              set_field(h, SEGY_TR_CROSSLINE, i + 1, path);
            },
            [&](int i, float *out) {
              for (int64_t z = 0; z < nz; ++z) out[z] = static_cast<float>(values[static_cast<size_t>(i * nz + z)]);
            });
      },
      "SEG-Y model");
}

SegyModel read_segy_model(const std::string &path) {
  SegyIn in(path, "SEG-Y model");
  check_counts(in, path, "SEG-Y model", "NX", "NX", "NZ");
  SegyModel m;
  m.shape = {in.traces(), in.samples()};
  m.values.resize(static_cast<size_t>(in.traces()) * static_cast<size_t>(in.samples()));
  std::vector<float> buf(static_cast<size_t>(in.samples()));
  for (int i = 0; i < in.traces(); ++i) {
    in.trace(i, buf.data());
    std::copy(buf.begin(), buf.end(), m.values.begin() + static_cast<std::ptrdiff_t>(i) * in.samples());
  }
  const double dx = text_number(in.text(), "DX_M"), dz = text_number(in.text(), "DZ_M");
  if (std::isfinite(dx) && dx > 0) {
    m.dx = dx;
  } else if (in.traces() >= 2) {
    char h0[SEGY_TRACE_HEADER_SIZE], h1[SEGY_TRACE_HEADER_SIZE];
    in.header(0, h0);
    in.header(1, h1);
    const double x0 = scaled(get_field(h0, SEGY_TR_GROUP_X), get_field(h0, SEGY_TR_SOURCE_GROUP_SCALAR));
    const double x1 = scaled(get_field(h1, SEGY_TR_GROUP_X), get_field(h1, SEGY_TR_SOURCE_GROUP_SCALAR));
    m.dx = std::fabs(x1 - x0);
  }
  if (std::isfinite(dz) && dz > 0) m.dz = dz;
  return m;
}

}  // namespace tenet
