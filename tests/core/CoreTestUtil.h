/** \file CoreTestUtil.h  Small helpers shared by the core DSL tests: scoped environment
 * variables, temporary directories and filling grid fields (halo included) from a formula. */
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "support/Error.h"
#include "types/Function.h"

namespace tenet::test {

/// Sets (or unsets, with nullopt) an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string> &value) : name_(std::move(name)) {
    if (const char *old = std::getenv(name_.c_str())) old_ = old;
    if (value) ::setenv(name_.c_str(), value->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

/// A fresh empty directory under the system temp folder, removed with its contents.
class TempDir {
 public:
  explicit TempDir(const std::string &tag) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("tenet-core-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// Runs `f` and returns the message of the tenet::Error it throws; fails the test if it
/// throws nothing or something else.
inline std::string error_message(const std::function<void()> &f) {
  try {
    f();
  } catch (const tenet::Error &e) {
    return e.what();
  } catch (const std::exception &e) {
    ADD_FAILURE() << "expected tenet::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected tenet::Error, nothing was thrown";
  return "";
}

/// Physical coordinate of index i along dimension d (negative i and i >= n are halo points).
inline double coord(const Grid &g, int d, std::int64_t i) {
  return g.origin()[static_cast<std::size_t>(d)] + static_cast<double>(i) * g.spacing()[static_cast<std::size_t>(d)];
}

/// Sets every point of one buffer of a float64 field, halo included, to f(coordinates).
inline void fill_with_halo(const Function &u, const std::function<double(const std::vector<double> &)> &f,
                           int time_buffer = 0) {
  const Grid &g = u.grid();
  const auto &halo = u.data()->halo;
  GridView<double> v = u.view<double>(time_buffer);
  const int nd = g.ndim();
  std::vector<double> c(static_cast<std::size_t>(nd));
  auto lo = [&](int d) { return -static_cast<std::int64_t>(halo[static_cast<std::size_t>(d)]); };
  auto hi = [&](int d) { return g.shape()[static_cast<std::size_t>(d)] + halo[static_cast<std::size_t>(d)]; };
  if (nd == 1) {
    for (std::int64_t i = lo(0); i < hi(0); ++i) v(i) = f({coord(g, 0, i)});
  } else if (nd == 2) {
    for (std::int64_t i = lo(0); i < hi(0); ++i)
      for (std::int64_t j = lo(1); j < hi(1); ++j) v(i, j) = f({coord(g, 0, i), coord(g, 1, j)});
  } else {
    for (std::int64_t i = lo(0); i < hi(0); ++i)
      for (std::int64_t j = lo(1); j < hi(1); ++j)
        for (std::int64_t k = lo(2); k < hi(2); ++k) v(i, j, k) = f({coord(g, 0, i), coord(g, 1, j), coord(g, 2, k)});
  }
}

/// Sets the interior of one buffer (C order) from f(coordinates) through set_data.
inline void fill_interior(Function &u, const std::function<double(const std::vector<double> &)> &f,
                          int time_buffer = 0) {
  const Grid &g = u.grid();
  const int nd = g.ndim();
  std::vector<double> vals;
  vals.reserve(static_cast<std::size_t>(g.size()));
  std::vector<std::int64_t> idx(static_cast<std::size_t>(nd), 0);
  for (std::int64_t n = 0; n < g.size(); ++n) {
    std::int64_t r = n;
    std::vector<double> c(static_cast<std::size_t>(nd));
    for (int d = nd - 1; d >= 0; --d) {
      const auto du = static_cast<std::size_t>(d);
      c[du] = coord(g, d, r % g.shape()[du]);
      r /= g.shape()[du];
    }
    vals.push_back(f(c));
  }
  u.set_data(std::span<const double>(vals), time_buffer);
}

/// The coordinates of the interior point number n (C order).
inline std::vector<double> point_coords(const Grid &g, std::int64_t n) {
  const int nd = g.ndim();
  std::vector<double> c(static_cast<std::size_t>(nd));
  for (int d = nd - 1; d >= 0; --d) {
    const auto du = static_cast<std::size_t>(d);
    c[du] = coord(g, d, n % g.shape()[du]);
    n /= g.shape()[du];
  }
  return c;
}

}  // namespace tenet::test
