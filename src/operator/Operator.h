/** \file Operator.h  An Operator: equations compiled to a kernel, bound to data and run. */
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Kernel.h"
#include "jit/Jit.h"
#include "passes/Passes.h"
#include "types/Eq.h"

namespace tenet {

struct OperatorOptions {
  std::string name = "Kernel";
  bool backward = false;     ///< time runs from time_M down to time_m (adjoint operators)
  PipelineOptions passes;
};

struct ApplyArgs {
  std::int64_t time_m = 0;
  std::int64_t time_M = -1;  ///< last time step; required when the operator has time
  /// Scalars by name: dt, and Constants (which default to their own value).
  std::map<std::string, double> scalars;
  /// Use another field of the same kind and layout in place of the named one.
  std::map<std::string, std::shared_ptr<FieldData>> fields;
  int threads = 0;           ///< OpenMP threads; 0: the current setting (1 for grids under 32k points)
  bool autotune = false;     ///< choose block sizes by a short timed run (data restored after)
};

struct PerfReport {
  double seconds = 0.0;
  std::int64_t steps = 0;
  std::int64_t points = 0;   ///< grid points updated: grid size x steps
  double gpts = 0.0;         ///< billions of grid points per second
};

class Operator {
 public:
  explicit Operator(std::vector<Eq> eqs, OperatorOptions opts = {});

  PerfReport apply(const ApplyArgs &args);
  /// The generated C source.
  const std::string &ccode() const { return source_; }
  const Kernel &kernel() const { return kernel_; }
  /// Seconds spent building the IR and generating code, and in the JIT (compile or load).
  double build_seconds() const { return build_seconds_; }
  double jit_seconds() const { return compiled_.seconds; }
  bool cache_hit() const { return compiled_.cache_hit; }
  const std::string &source_path() const { return compiled_.source_path; }

  /// Block sizes in use, per blocked dimension; settable, and chosen by autotuning.
  std::vector<std::int64_t> block_sizes() const;
  void set_block_sizes(const std::vector<std::int64_t> &sizes);
  /// Names of the scalar arguments (dt, constants; grid spacings are bound automatically).
  std::vector<std::string> scalar_names() const;
  /// Time offsets k of the accesses u[t + k] of each field with time, as (min, max).
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> time_offsets() const;

 private:
  struct Bound;
  Bound bind(const ApplyArgs &args);
  void run(const Bound &b) const;
  void autotune(const ApplyArgs &args);
  std::int64_t blocks_per_tile_step(const std::vector<std::int64_t> &sizes) const;

  Kernel kernel_;
  std::string source_;
  CompiledKernel compiled_;
  double build_seconds_ = 0.0;
  std::map<int, std::int64_t> blocks_;  // dim -> block size
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> time_offsets_;
  std::vector<std::vector<double>> table_coordinates_;  // coordinates the tables were built from
  std::vector<const FieldData *> table_sources_;
  std::map<std::string, std::vector<std::int64_t>> tuned_;  // remembered per shape and threads
};

}  // namespace tenet
