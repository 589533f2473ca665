/** \file Passes.h  The optimisation passes over a lowered Kernel, one per file; their order
 * lives in Pipeline.cpp only. */
#pragma once

#include "ir/Kernel.h"

namespace tenet {

/// Moves subexpressions made only of scalars and numbers (1/h^2, dt^2/...) out of all loops:
/// computed once per call, at the top of the kernel.
void hoist_invariants(Kernel &k);

/// Computes each subexpression that occurs more than once in an innermost loop body once, in a
/// temporary defined at the top of that body.
void eliminate_common_subexpressions(Kernel &k);

/// Replaces the time index of every TimeFunction with modulo buffers by a variable computed
/// once per time step, (t + k) mod nbuf.
void make_modulo_time(Kernel &k);

/// Splits the outer space loops of every dense loop nest into blocks whose sizes are runtime
/// arguments (so the autotuner can change them without recompiling).
void block_loops(Kernel &k);

/// Marks the outermost loop(s) of each dense nest OpenMP-parallel (collapsing the block loops)
/// and the innermost loop `omp simd`. Sparse loops stay serial: race-free and deterministic.
void parallelize(Kernel &k);

/// Writes innermost `omp simd` loops over the last dimension with explicit vectors of
/// `vector_bytes` where ir/VectorPlan.h allows: each row is loaded once per vector and its
/// neighbours along the row are shifted out of registers, instead of one unaligned load per
/// neighbour (the loads, not the arithmetic, bound a wide stencil).
void vectorize_inner_loops(Kernel &k, int vector_bytes);

enum class TimeTiling {
  Auto,    ///< where one time level of the kernel's arrays exceeds a last-level cache (32 MiB)
  Always,  ///< wherever valid (tests)
  Never,
};

/// Wavefront time tiling of a time loop with one dense nest (passes/TileTime.cpp): blocks of
/// steps run tile by tile along the outermost dimension, in one parallel region; where the
/// reads allow it (else the kernel stays as it is). Results are bitwise the same.
/// Where every thread can have one, stages along y pipeline the tiles across the
/// threads (`threads`: those the kernel is built for, 0 for omp_get_max_threads()).
void tile_time(Kernel &k, TimeTiling mode, int threads = 0);

struct PipelineOptions {
  bool blocking = true;
  bool cse = true;
  bool hoist = true;
  bool openmp = true;
  /// Explicit vectors of this many bytes in innermost loops (0: leave them to the compiler).
  /// 64 is one cache line, the unit rows are aligned and padded to; where the machine's vectors
  /// are narrower the compiler splits each into two (AVX2) or four (SSE) operations.
  int vector_bytes = 64;
  TimeTiling time_tiling = TimeTiling::Auto;
  int threads = 0;  ///< threads the kernel is built for (time tiling's stages); 0: omp_get_max_threads()
};

/// Runs every pass in order.
void run_pipeline(Kernel &k, const PipelineOptions &opts = {});

}  // namespace tenet
