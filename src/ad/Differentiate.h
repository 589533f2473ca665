/** \file Differentiate.h  Automatic differentiation of stencil equations: the exact discrete
 * adjoint (reverse mode) and tangent (forward mode, the Born operator), as new Operators.
 *
 * Reverse mode transposes every statement in gather form (DESIGN.md): a read u[t][x+k] in the
 * update of w[t+1][x] becomes, after substituting y = x + k,
 *     ubar[t][y] += (dF/du[t][x+k])(x = y-k) * wbar[t+1][y-k]
 * so each adjoint statement writes only its own point and parallelises like the forward, with
 * no atomics. Adjoint fields have zero halos and the adjoint iterates over the same domain as
 * the forward: the state is the domain values (halos are fixed boundary data), so sources
 * x = y - k outside the domain contribute nothing, which the zero halo of wbar provides.
 *
 * Time levels: at reverse step t, the oldest level of a state field that the forward step
 * reads gets its first contribution; that statement assigns instead of accumulating, which
 * both overwrites the dead buffer of modulo time stepping and saves a separate zeroing sweep.
 */
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "operator/Operator.h"
#include "types/Eq.h"

namespace tenet {

struct DiffRequest {
  /// Parameters to differentiate with respect to (e.g. m). Every field the equations write is
  /// active state automatically, and every sparse function takes part (sources get a
  /// derivative, receivers seed the adjoint).
  std::vector<std::shared_ptr<FieldData>> parameters;
  /// Allow the time-gather form when the forward is one solved update, linear in its state
  /// (see adjoint()). Off: always the general level-scatter form.
  bool time_gather = true;
  /// The forward starts at rest (every state level its first step reads is zero) and the
  /// adjoint state starts at zero, as in FWI. The time-gather form then sums each parameter's
  /// gradient by parts in time: sum_t z[t+1] * sum_k c_k w[t+k] becomes
  /// sum_t w[t+K-1] * sum_k c_k z[t+K-k] (K the largest k), exact because the boundary terms
  /// are products with zero levels. Each reverse step then reads one forward level instead of
  /// one per time offset (for m * u.dt2: u[t] instead of u[t-1], u[t], u[t+1]), and of the
  /// adjoint only the levels its stencil reads plus the one it has just computed, at the same
  /// point (so the gradient costs one array read and the gradient's update per point). Where
  /// a parameter is read at a space offset, the sum is shifted by one step less (z[t+1+K-k],
  /// w[t+K]: one more adjoint level).
  bool at_rest = false;
};

struct DerivativeOperator {
  std::vector<Eq> equations;
  std::unique_ptr<Operator> op;
  /// Computes time-invariant coefficient fields the main operator reads (e.g. the reciprocal
  /// of dR/du[t+1] for each solved update); null when there are none. Run it once whenever
  /// the parameters or dt change, before `op`; apply() does both.
  std::unique_ptr<Operator> prepare;
  /// The derivative field of each active field, by the forward field's name: the adjoint
  /// (ubar, mbar: the gradient) or the tangent (udot, and the input perturbation mdot).
  std::map<std::string, std::shared_ptr<FieldData>> fields;
  /// Forward fields read by the derivative operator and the time offsets k of u[t + k] read
  /// at step t: what the checkpointing runtime must supply (empty set: no time dimension).
  std::map<std::string, std::set<std::int64_t>> forward_needs;

  std::shared_ptr<FieldData> of(const std::string &name) const;
  /// Runs `prepare` (with the scalars it needs) and then `op`.
  PerfReport apply(const ApplyArgs &args);
  /// Runs only `prepare`.
  void run_prepare(const ApplyArgs &args);
};

/// The adjoint operator. Running it over [time_m, time_M] reverses the forward over the same
/// range: inputs are the adjoint of the final state (in the state's adjoint buffers) and of
/// the outputs (receiver residuals in the sparse adjoints); parameter adjoints accumulate.
/// The state adjoints carry over from one call to the next (as the checkpointing runtime,
/// which reverses one step per call, needs): zero every derivative field before an independent
/// run. Forward fields read at every step (u of a nonlinear term or of a gradient) must keep
/// their whole history (save) for a call over several steps; apply() checks that.
///
/// Time-gather form. When the forward is a single update w[t+1] = solve(R, w[t+1]) with R
/// linear in w (coefficients free of w, dR/dw[t+1] = a(x) free of time), plus injections into
/// w[t+1] and interpolations of w[t], the adjoint gathers over time as well as space: reverse
/// step t computes level t of the adjoint completely, from levels t+1 and t+2, and writes
/// nothing else. The adjoint field then holds z = wbar / a, so that a is applied once per
/// point (shift-invariant factoring): the transposed stencil reads z with constant weights,
/// and the gradient is -dR/dm * z[t+1]. This reads and writes as many arrays per point as the
/// forward. Terminal adjoint state: the adjoint buffers must start at zero (as for FWI).
DerivativeOperator adjoint(const std::vector<Eq> &forward, const DiffRequest &req, OperatorOptions opts = {});

/// The tangent operator: the derivative of the forward outputs along a perturbation of the
/// parameters (mdot) and of the initial state. With `with_forward`, the forward equations run
/// in the same operator (the Born operator); otherwise it reads a saved forward history.
DerivativeOperator tangent(const std::vector<Eq> &forward, const DiffRequest &req, OperatorOptions opts = {},
                           bool with_forward = true);

}  // namespace tenet
