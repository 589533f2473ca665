/** \file HashChainStepper.h  A toy time stepper whose state is a hash chain, for checkpoint tests.
 *
 * State t holds (t, H(t)) and a payload derived from H(t), with H(t+1) = mix(H(t), t). Any
 * wrong, stale or partially restored state changes the hash, so checking it in `reverse`
 * proves that every adjoint step saw exactly forward state t. The "adjoint" folds H(t) in the
 * order the steps are reversed, so its final value also proves the order N-1 .. 0.
 */
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "checkpoint/Checkpointable.h"

namespace tenet::test {

inline std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

/// H(t) by the definition, independently of any schedule.
inline std::uint64_t chain_hash(int t) {
  std::uint64_t h = 0x1234567887654321ull;
  for (int i = 0; i < t; ++i) h = mix(h, static_cast<std::uint64_t>(i));
  return h;
}

/// The adjoint a correct reversal of N steps must produce.
inline std::uint64_t expected_adjoint(int steps) {
  std::vector<std::uint64_t> h(static_cast<std::size_t>(steps) + 1);
  h[0] = chain_hash(0);
  for (int t = 0; t < steps; ++t) h[t + 1] = mix(h[t], static_cast<std::uint64_t>(t));
  std::uint64_t a = 7;
  for (int t = steps - 1; t >= 0; --t) a = mix(a, h[t] ^ static_cast<std::uint64_t>(t));
  return a;
}

class HashChainStepper : public Checkpointable {
 public:
  /// `payload` doubles (float64) or floats (float32) travel with the state.
  explicit HashChainStepper(int steps, std::size_t payload = 8, DType dtype = DType::Float64)
      : steps_(steps), head_(2), payload_(payload * dtype_size(dtype)), dtype_(dtype) {
    set(0, chain_hash(0));
  }

  void forward(int t0, int t1) override {
    check(t0, "forward");
    if (t1 <= t0 || t1 > steps_) fail("forward(" + std::to_string(t0) + ", " + std::to_string(t1) + ")");
    std::uint64_t h = hash();
    for (int t = t0; t < t1; ++t) h = mix(h, static_cast<std::uint64_t>(t));
    forward_steps += t1 - t0;
    set(t1, h);
  }

  void reverse(int t0, int t1) override {
    if (t1 != t0 + 1) fail("reverse of more than one step");
    check(t0, "reverse", !reverse_reads_head_only);
    if (t0 != next_reverse_) {
      fail("reverse step " + std::to_string(t0) + " out of order, expected " +
           std::to_string(next_reverse_));
    }
    --next_reverse_;
    ++reverse_steps;
    adjoint = mix(adjoint, hash() ^ static_cast<std::uint64_t>(t0));
    // The forward state is unspecified after a reverse step: scramble it so that a schedule
    // relying on it is caught.
    set(-12345, 0xDEADBEEFull + static_cast<std::uint64_t>(t0));
  }

  State state() override {
    State s(2);
    s[0].data = head_.data();
    s[0].count = head_.size();
    s[0].dtype = DType::Float64;
    s[0].shape = {static_cast<std::int64_t>(head_.size())};
    s[1].data = payload_.data();
    s[1].dtype = dtype_;
    s[1].count = payload_.size() / dtype_size(dtype_);
    s[1].shape = {static_cast<std::int64_t>(s[1].count)};
    return s;
  }

  /// With `reverse_reads_head_only`, a reverse step reads only (t, H(t)), not the payload: a
  /// checkpoint restored only for that reverse step needs just the head.
  State reverse_state_at(int t) override {
    if (!reverse_reads_head_only) return state_at(t);
    State s = state();
    s.resize(1);
    return s;
  }

  std::size_t bytes() const { return head_.size() * 8 + payload_.size(); }

  bool reverse_reads_head_only = false;

  std::uint64_t adjoint = 7;
  std::int64_t forward_steps = 0;
  std::int64_t reverse_steps = 0;
  std::vector<std::string> errors;

 private:
  int current() const {
    std::int64_t t;
    std::memcpy(&t, &head_[0], 8);
    return static_cast<int>(t);
  }
  std::uint64_t hash() const {
    std::uint64_t h;
    std::memcpy(&h, &head_[1], 8);
    return h;
  }
  void set(std::int64_t t, std::uint64_t h) {
    std::memcpy(&head_[0], &t, 8);
    std::memcpy(&head_[1], &h, 8);
    for (std::size_t i = 0; i + 8 <= payload_.size(); i += 8) {
      const std::uint64_t v = mix(h, i);
      std::memcpy(&payload_[i], &v, 8);
    }
  }
  void check(int t, const char *what, bool payload = true) {
    if (current() != t) {
      fail(std::string(what) + " at step " + std::to_string(t) + " but the object holds state " +
           std::to_string(current()));
      return;
    }
    if (hash() != chain_hash_cached(t)) fail(std::string(what) + ": wrong hash at state " + std::to_string(t));
    for (std::size_t i = 0; payload && i + 8 <= payload_.size(); i += 8) {
      std::uint64_t v;
      std::memcpy(&v, &payload_[i], 8);
      if (v != mix(hash(), i)) {
        fail(std::string(what) + ": payload corrupt at state " + std::to_string(t));
        return;
      }
    }
  }
  std::uint64_t chain_hash_cached(int t) {
    while (static_cast<int>(cache_.size()) <= t) {
      cache_.push_back(cache_.empty() ? chain_hash(0)
                                      : mix(cache_.back(), static_cast<std::uint64_t>(cache_.size() - 1)));
    }
    return cache_[static_cast<std::size_t>(t)];
  }
  void fail(const std::string &what) {
    if (errors.size() < 5) errors.push_back(what);
  }

  int steps_;
  int next_reverse_ = steps_ - 1;
  std::vector<double> head_;
  std::vector<unsigned char> payload_;
  DType dtype_;
  std::vector<std::uint64_t> cache_;
};

}  // namespace tenet::test
