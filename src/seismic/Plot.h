/** \file Plot.h  Minimal line plots as PNG (misfit curves, error-memory trade-offs): axes,
 * grid lines, labelled ticks and a legend, drawn with a built-in 5x7 pixel font. */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenet {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;
  std::uint8_t rgb[3] = {31, 119, 180};
};

struct PlotOptions {
  std::string title, xlabel, ylabel;
  bool log_x = false, log_y = false;
  int width = 720, height = 480;
};

/// Writes the plot atomically as an RGB PNG. Non-finite or (on log axes) non-positive points
/// are skipped.
void write_plot(const std::string &path, const std::vector<PlotSeries> &series, const PlotOptions &opts);

}  // namespace tenet
