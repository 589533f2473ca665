/** \file Progress.h  A progress bar with ETA for long runs, drawn on stderr only when it is a
 * terminal (so logs and pipes stay clean). */
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tenet {

class Progress {
 public:
  /// `total` units of work; `label` is shown before the bar. Draws nothing when stderr is not
  /// a terminal or when `enabled` is false.
  Progress(std::string label, std::int64_t total, bool enabled = true);
  ~Progress();
  /// Sets the work done so far (redraws at most ~10 times a second) and an optional note.
  void update(std::int64_t done, const std::string &note = "");
  /// Completes the bar and moves to a new line.
  void finish(const std::string &note = "");
  bool active() const { return active_; }

 private:
  void draw(std::int64_t done, const std::string &note);

  std::string label_;
  std::int64_t total_;
  bool active_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tenet
