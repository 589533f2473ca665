/** \file SeismicIO.h  Files of seismic data: NumPy .npy, raw float32, SEG-Y (through segyio),
 * all written atomically.
 *
 * Every write goes to a temporary file in the target's directory (".NAME.tmp.XXXXXX"), is
 * fsync'ed, then renamed over the target, so a reader sees either the old file or the complete
 * new one; on any error the temporary file is removed. Every read checks the file against what
 * its header promises and throws tenet::Error naming the file, what is wrong, and what to do.
 *
 * Units as in Acoustic.h: time in ms, distances in m, velocity in km/s.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace tenet {

/// An n-dimensional array in C order (the last index varies fastest).
struct Array {
  std::vector<std::int64_t> shape;
  std::vector<double> data;

  std::int64_t size() const;
};

/// Writes `path` atomically: `fill` receives the temporary path (in the same directory) and
/// writes the complete file there; it is then fsync'ed and renamed onto `path`. If `fill`
/// throws, the temporary file is removed and the exception propagates. `what` names the file
/// in messages (e.g. "shot record").
void write_atomically(const std::string &path, const std::function<void(const std::string &tmp)> &fill,
                      const std::string &what = "file");
/// Removes the temporary files of the writes in progress. Async-signal-safe: for a SIGINT or
/// SIGTERM handler, so that an interrupted run leaves neither a half-written output nor a
/// temporary file (the handler then exits; the interrupted writes never rename).
void remove_temporary_files() noexcept;
/// Writes the bytes atomically (as above).
void write_bytes_atomically(const std::string &path, std::span<const char> bytes, const std::string &what = "file");

// --- NumPy .npy -------------------------------------------------------------------------------

enum class NpyType { Float32, Float64 };

/// Reads a little-endian float32 or float64 .npy file in C order with 1 to 3 dimensions (format
/// versions 1.0, 2.0, 3.0). Its element type is stored in `*type` when given.
Array read_npy(const std::string &path, NpyType *type = nullptr);
/// Writes a format-1.0 .npy file ('<f4' or '<f8', C order).
void write_npy(const std::string &path, const Array &array, NpyType type = NpyType::Float32);

// --- Raw float32 ------------------------------------------------------------------------------

/// Reads little-endian float32 values in C order; the file size must be exactly 4 * prod(shape).
Array read_raw_f32(const std::string &path, const std::vector<std::int64_t> &shape);
/// Writes the values as little-endian float32, without a header.
void write_raw_f32(const std::string &path, const Array &array);

// --- SEG-Y ------------------------------------------------------------------------------------

/// One shot: the receivers' traces and where source and receivers were.
///
/// In the file (SEG-Y rev 1, big-endian IEEE float32): one trace per receiver, one sample per
/// time step; the sample interval in microseconds in the binary and trace headers (and the exact
/// dt in ms in the textual header, since microseconds round most computed time steps);
/// coordinates in m with scalar -1000 (mm resolution): source x, y in bytes 73/77 and source depth
/// in 49, receiver x, y in 81/85 and receiver depth as elevation -z in 41; the shot number in the
/// field record (9) and the receiver number in 13.
struct ShotRecord {
  int ndim = 2;                   ///< 2 (x, z) or 3 (x, y, z)
  double dt = 0;                  ///< ms
  std::int64_t nt = 0;            ///< samples per trace
  std::int64_t nrec = 0;          ///< traces
  std::vector<double> source;     ///< [ndim], m
  std::vector<double> receivers;  ///< [nrec][ndim], m
  std::vector<double> data;       ///< [nt][nrec], as SparseTimeFunction stores it
  int shot_id = 1;
};

/// Writes the shot record as SEG-Y. Throws tenet::Error on inconsistent sizes, a dt that does not
/// fit the 16-bit microsecond field (1 us .. 32.767 ms), or more than 65535 samples per trace.
void write_segy_shot(const std::string &path, const ShotRecord &shot);
/// Reads a shot record (ours or any 2D/3D SEG-Y with IBM or IEEE float samples).
ShotRecord read_segy_shot(const std::string &path);

/// A 2D velocity section in SEG-Y: one trace per x position, one sample per depth point.
struct SegyModel {
  std::vector<std::int64_t> shape;  ///< {nx, nz}
  std::vector<double> values;       ///< [nx][nz], as stored (no unit conversion)
  double dx = 0;                    ///< m, from the receiver x of the first two traces; 0 if unknown
  double dz = 0;                    ///< m, from our textual header; 0 if unknown
};

/// Writes a 2D model [nx][nz] (one trace per x, receiver x = i * dx, sample interval dz in mm).
void write_segy_model(const std::string &path, const std::vector<std::int64_t> &shape,
                      const std::vector<double> &values, double dx, double dz);
/// Reads a 2D model stored as one trace per x position.
SegyModel read_segy_model(const std::string &path);

}  // namespace tenet
