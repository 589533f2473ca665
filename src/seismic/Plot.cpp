#include "seismic/Plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <array>
#include <cctype>
#include <map>

#include "seismic/Image.h"
#include "support/Error.h"

namespace tenet {
namespace {

// 5x7 glyphs, one byte per row (low 5 bits, leftmost pixel = bit 4).
const std::map<char, std::array<std::uint8_t, 7>> &font() {
  static const std::map<char, std::array<std::uint8_t, 7>> f = {
      {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},   {'2', {14, 17, 1, 2, 4, 8, 31}},
      {'3', {31, 2, 4, 2, 1, 17, 14}},     {'4', {2, 6, 10, 18, 31, 2, 2}},  {'5', {31, 16, 30, 1, 1, 17, 14}},
      {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},    {'8', {14, 17, 17, 14, 17, 17, 14}},
      {'9', {14, 17, 17, 15, 1, 2, 12}},   {'.', {0, 0, 0, 0, 0, 12, 12}},   {'-', {0, 0, 0, 31, 0, 0, 0}},
      {'+', {0, 4, 4, 31, 4, 4, 0}},       {'e', {0, 0, 14, 17, 31, 16, 14}}, {' ', {0, 0, 0, 0, 0, 0, 0}},
      {'(', {2, 4, 8, 8, 8, 4, 2}},        {')', {8, 4, 2, 2, 2, 4, 8}},     {'/', {1, 1, 2, 4, 8, 16, 16}},
      {',', {0, 0, 0, 0, 12, 4, 8}},       {':', {0, 12, 12, 0, 12, 12, 0}}, {'=', {0, 0, 31, 0, 31, 0, 0}},
      {'%', {24, 25, 2, 4, 8, 19, 3}},     {'x', {0, 0, 17, 10, 4, 10, 17}}, {'_', {0, 0, 0, 0, 0, 0, 31}},
      {'a', {0, 0, 14, 1, 15, 17, 15}},    {'b', {16, 16, 22, 25, 17, 17, 30}}, {'c', {0, 0, 14, 16, 16, 17, 14}},
      {'d', {1, 1, 13, 19, 17, 17, 15}},   {'f', {6, 9, 8, 28, 8, 8, 8}},    {'g', {0, 15, 17, 17, 15, 1, 14}},
      {'h', {16, 16, 22, 25, 17, 17, 17}}, {'i', {4, 0, 12, 4, 4, 4, 14}},   {'j', {2, 0, 6, 2, 2, 18, 12}},
      {'k', {16, 16, 18, 20, 24, 20, 18}}, {'l', {12, 4, 4, 4, 4, 4, 14}},   {'m', {0, 0, 26, 21, 21, 17, 17}},
      {'n', {0, 0, 22, 25, 17, 17, 17}},   {'o', {0, 0, 14, 17, 17, 17, 14}}, {'p', {0, 0, 30, 17, 30, 16, 16}},
      {'q', {0, 0, 13, 19, 15, 1, 1}},     {'r', {0, 0, 22, 25, 16, 16, 16}}, {'s', {0, 0, 14, 16, 14, 1, 30}},
      {'t', {8, 8, 28, 8, 8, 9, 6}},       {'u', {0, 0, 17, 17, 17, 19, 13}}, {'v', {0, 0, 17, 17, 17, 10, 4}},
      {'w', {0, 0, 17, 17, 21, 21, 10}},   {'y', {0, 0, 17, 17, 15, 1, 14}}, {'z', {0, 0, 31, 2, 4, 8, 31}},
  };
  return f;
}

class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), px_(static_cast<std::size_t>(w) * h * 3, 255) {}
  void set(int x, int y, const std::uint8_t *c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    std::uint8_t *p = &px_[(static_cast<std::size_t>(y) * w_ + x) * 3];
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
  }
  void line(double x0, double y0, double x1, double y1, const std::uint8_t *c, int thick = 1) {
    int n = static_cast<int>(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0))) + 1;
    for (int i = 0; i <= n; ++i) {
      double t = static_cast<double>(i) / n;
      int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      for (int a = 0; a < thick; ++a)
        for (int b = 0; b < thick; ++b) set(x + a - thick / 2, y + b - thick / 2, c);
    }
  }
  void text(int x, int y, const std::string &s, const std::uint8_t *c, bool vertical = false) {
    for (char ch : s) {
      char k = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto it = font().find(k);
      if (it != font().end())
        for (int r = 0; r < 7; ++r)
          for (int col = 0; col < 5; ++col)
            if (it->second[static_cast<std::size_t>(r)] & (16 >> col)) {
              if (vertical) set(x + r, y - col, c);
              else set(x + col, y + r, c);
            }
      if (vertical) y -= 6;
      else x += 6;
    }
  }
  const std::vector<std::uint8_t> &pixels() const { return px_; }

 private:
  int w_, h_;
  std::vector<std::uint8_t> px_;
};

std::string tick_label(double v, bool log) {
  char buf[32];
  if (log) std::snprintf(buf, sizeof buf, "%.2g", std::pow(10.0, v));
  else if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) std::snprintf(buf, sizeof buf, "%.1e", v);
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

void write_plot(const std::string &path, const std::vector<PlotSeries> &series, const PlotOptions &o) {
  TENET_USER_CHECK(o.width >= 200 && o.height >= 150, "write_plot: the image is too small");
  auto tx = [&](double v) { return o.log_x ? std::log10(v) : v; };
  auto ty = [&](double v) { return o.log_y ? std::log10(v) : v; };
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!o.log_x || x > 0) && (!o.log_y || y > 0);
  };
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto &s : series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (usable(s.x[i], s.y[i])) {
        x0 = std::min(x0, tx(s.x[i]));
        x1 = std::max(x1, tx(s.x[i]));
        y0 = std::min(y0, ty(s.y[i]));
        y1 = std::max(y1, ty(s.y[i]));
      }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
  if (o.log_y) y0 = std::floor(y0), y1 = std::ceil(y1);
  const int L = 80, R = 20, T = 40, B = 60, W = o.width - L - R, H = o.height - T - B;
  auto px = [&](double v) { return L + (v - x0) / (x1 - x0) * W; };
  auto py = [&](double v) { return T + H - (v - y0) / (y1 - y0) * H; };
  Canvas c(o.width, o.height);
  const std::uint8_t black[3] = {0, 0, 0}, grid[3] = {225, 225, 225};
  // Grid and ticks.
  for (int i = 0; i <= 5; ++i) {
    double yv = o.log_y ? y0 + std::round((y1 - y0) * i / 5.0) : y0 + (y1 - y0) * i / 5.0;
    double xv = x0 + (x1 - x0) * i / 5.0;
    c.line(L, py(yv), L + W, py(yv), grid);
    c.line(px(xv), T, px(xv), T + H, grid);
    std::string ly = tick_label(yv, o.log_y), lx = tick_label(o.log_x ? xv : xv, o.log_x);
    c.text(L - 6 - 6 * static_cast<int>(ly.size()), static_cast<int>(py(yv)) - 3, ly, black);
    c.text(static_cast<int>(px(xv)) - 3 * static_cast<int>(lx.size()), T + H + 8, lx, black);
  }
  c.line(L, T, L, T + H, black);
  c.line(L, T + H, L + W, T + H, black);
  c.text(L, 14, o.title, black);
  c.text(L + W / 2 - 3 * static_cast<int>(o.xlabel.size()), T + H + 30, o.xlabel, black);
  c.text(14, T + H / 2 + 3 * static_cast<int>(o.ylabel.size()), o.ylabel, black, true);
  // Series with markers, and the legend.
  int ly = T + 8;
  for (const auto &s : series) {
    bool have = false;
    double lxp = 0, lyp = 0;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      double X = px(tx(s.x[i])), Y = py(ty(s.y[i]));
      if (have) c.line(lxp, lyp, X, Y, s.rgb, 2);
      for (int a = -3; a <= 3; ++a) c.line(X - 3, Y + a, X + 3, Y + a, s.rgb);
      lxp = X;
      lyp = Y;
      have = true;
    }
    if (!s.label.empty()) {
      c.line(L + W - 150, ly + 3, L + W - 130, ly + 3, s.rgb, 3);
      c.text(L + W - 124, ly, s.label, black);
      ly += 14;
    }
  }
  write_png(path, o.width, o.height, c.pixels());
}

}  // namespace tenet
