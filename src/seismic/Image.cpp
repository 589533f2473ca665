#include "seismic/Image.h"

#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "seismic/SeismicIO.h"
#include "support/Error.h"

namespace tenet {

void write_png(const std::string &path, int width, int height, const std::vector<std::uint8_t> &rgb) {
  TENET_USER_CHECK(width > 0 && height > 0 && rgb.size() == static_cast<std::size_t>(width) * height * 3,
                   "write_png ", path, ": ", rgb.size(), " bytes for a ", width, "x", height, " RGB image");
  // Through write_atomically: a temporary next to the file, renamed when complete, and removed
  // by the interrupt handler if the run is stopped half-way.
  write_atomically(path, [&](const std::string &tmp) {
    FILE *f = std::fopen(tmp.c_str(), "wb");
    TENET_USER_CHECK(f != nullptr, "cannot write ", path, ": check that its directory exists and is writable");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    volatile bool ok = png && info;
    if (ok && setjmp(png_jmpbuf(png))) ok = false;
    else if (ok) {
      png_init_io(png, f);
      png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
                   PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
      png_write_info(png, info);
      for (int r = 0; r < height; ++r)
        png_write_row(png, const_cast<png_bytep>(rgb.data() + static_cast<std::size_t>(r) * width * 3));
      png_write_end(png, nullptr);
    }
    png_destroy_write_struct(png ? &png : nullptr, info ? &info : nullptr);
    ok = (std::fclose(f) == 0) && ok;
    TENET_USER_CHECK(ok, "writing the PNG ", path, " failed (disk full?)");
  }, "PNG image");
}

namespace {

// Piecewise-linear colour map through 5 control points, s in [0, 1].
void push_colour(std::vector<std::uint8_t> &out, const double (&cp)[5][3], double s) {
  s = std::clamp(s, 0.0, 1.0) * 4.0;
  int i = std::min(3, static_cast<int>(s));
  double f = s - i;
  for (int c = 0; c < 3; ++c)
    out.push_back(static_cast<std::uint8_t>(std::lround(cp[i][c] * (1 - f) + cp[i + 1][c] * f)));
}

}  // namespace

std::vector<std::uint8_t> colorize_seismic(const std::vector<double> &values, double clip) {
  // Dark blue, blue, white, red, dark red: the usual seismic map, white at zero.
  static const double cp[5][3] = {{0, 0, 77}, {0, 0, 255}, {255, 255, 255}, {255, 0, 0}, {128, 0, 0}};
  std::vector<std::uint8_t> out;
  out.reserve(values.size() * 3);
  if (!(clip > 0)) clip = 1.0;
  for (double v : values) push_colour(out, cp, std::isfinite(v) ? 0.5 + 0.5 * v / clip : 0.5);
  return out;
}

std::vector<std::uint8_t> colorize_sequential(const std::vector<double> &values, double lo, double hi) {
  // Control points of a viridis-like map.
  static const double cp[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  std::vector<std::uint8_t> out;
  out.reserve(values.size() * 3);
  double span = hi > lo ? hi - lo : 1.0;
  for (double v : values) push_colour(out, cp, std::isfinite(v) ? (v - lo) / span : 0.0);
  return out;
}

void write_field_png(const std::string &path, const std::vector<double> &values, std::int64_t rows, std::int64_t cols,
                     bool seismic, bool transpose, double clip_percentile) {
  TENET_USER_CHECK(rows > 0 && cols > 0 && values.size() == static_cast<std::size_t>(rows * cols), "write_field_png ",
                   path, ": ", values.size(), " values for ", rows, "x", cols);
  std::vector<double> img = values;
  std::int64_t h = rows, w = cols;
  if (transpose) {
    h = cols;
    w = rows;
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) img[static_cast<std::size_t>(c * rows + r)] = values[static_cast<std::size_t>(r * cols + c)];
  }
  std::vector<double> mags;
  for (double v : img)
    if (std::isfinite(v)) mags.push_back(seismic ? std::fabs(v) : v);
  std::vector<std::uint8_t> rgb;
  if (seismic) {
    double clip = 1.0;
    if (!mags.empty()) {
      auto k = static_cast<std::size_t>(std::clamp(clip_percentile / 100.0, 0.0, 1.0) * (mags.size() - 1));
      std::nth_element(mags.begin(), mags.begin() + static_cast<std::ptrdiff_t>(k), mags.end());
      clip = mags[k] > 0 ? mags[k] : 1.0;
    }
    rgb = colorize_seismic(img, clip);
  } else {
    double lo = mags.empty() ? 0 : *std::min_element(mags.begin(), mags.end());
    double hi = mags.empty() ? 1 : *std::max_element(mags.begin(), mags.end());
    rgb = colorize_sequential(img, lo, hi);
  }
  write_png(path, static_cast<int>(w), static_cast<int>(h), rgb);
}

}  // namespace tenet
