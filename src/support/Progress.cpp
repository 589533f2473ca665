#include "support/Progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace tenet {

Progress::Progress(std::string label, std::int64_t total, bool enabled)
    : label_(std::move(label)), total_(std::max<std::int64_t>(total, 1)),
      active_(enabled && ::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::seconds(1)) {}

Progress::~Progress() {
  if (active_ && !finished_) std::fputc('\n', stderr);
}

void Progress::update(std::int64_t done, const std::string &note) {
  if (!active_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  last_draw_ = now;
  draw(done, note);
}

void Progress::finish(const std::string &note) {
  if (!active_ || finished_) return;
  draw(total_, note);
  std::fputc('\n', stderr);
  finished_ = true;
}

void Progress::draw(std::int64_t done, const std::string &note) {
  const int width = 30;
  double frac = std::clamp(static_cast<double>(done) / static_cast<double>(total_), 0.0, 1.0);
  int filled = static_cast<int>(frac * width);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0.0;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r%s [%s] %3.0f%%  %5.1fs elapsed, ETA %5.1fs  %s\033[K", label_.c_str(), bar.c_str(),
               frac * 100, elapsed, eta, note.c_str());
  std::fflush(stderr);
}

}  // namespace tenet
