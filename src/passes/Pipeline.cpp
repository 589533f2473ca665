#include "passes/Passes.h"

namespace tenet {

void run_pipeline(Kernel &k, const PipelineOptions &opts) {
  // Hoisting runs before CSE so that loop-invariant factors become one kernel-level constant
  // instead of a per-point temporary.
  if (opts.hoist) hoist_invariants(k);
  // CSE works on the innermost bodies built by lowering; blocking does not change them.
  if (opts.cse) eliminate_common_subexpressions(k);
  // Modulo indices are per time step; they must exist before blocking so that the per-step
  // definitions sit outside the space loops.
  make_modulo_time(k);
  // Blocking must precede parallelize: the block loops are what becomes parallel.
  if (opts.blocking) block_loops(k);
  parallelize(k);
  // Needs the Parallel marks (the dense nest) and the blocks.
  tile_time(k, opts.time_tiling, opts.threads);
  // Needs the simd marks of parallelize.
  if (opts.vector_bytes > 0) vectorize_inner_loops(k, opts.vector_bytes);
}

}  // namespace tenet
