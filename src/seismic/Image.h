/** \file Image.h  PNG output of 2D fields with seismic and velocity colour maps. */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenet {

/// Writes an 8-bit RGB PNG atomically (temporary file, then rename). Throws tenet::Error.
void write_png(const std::string &path, int width, int height, const std::vector<std::uint8_t> &rgb);

/// Blue-white-red diverging map for wavefields and shot records, symmetric in [-clip, clip].
std::vector<std::uint8_t> colorize_seismic(const std::vector<double> &values, double clip);
/// A perceptually ordered map (dark blue -> green -> yellow) for velocities in [lo, hi].
std::vector<std::uint8_t> colorize_sequential(const std::vector<double> &values, double lo, double hi);

/// Writes a rows x cols array (C order) as an image with `rows` lines; `transpose` puts the
/// first index along the horizontal axis instead (a 2D model stored [x][depth]).
void write_field_png(const std::string &path, const std::vector<double> &values, std::int64_t rows, std::int64_t cols,
                     bool seismic, bool transpose, double clip_percentile = 99.0);

}  // namespace tenet
