/** \file Acoustic.h  Isotropic acoustic modelling written with the DSL: models, wavelet,
 * geometry and the propagator m u_tt - laplace(u) + damp u_t = 0.
 *
 * Units: velocity in km/s, distances in m, time in ms (so that v is in m/ms).
 */
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "operator/Operator.h"
#include "types/Function.h"

namespace tenet {

/// A velocity model on a grid that includes an absorbing layer of `nbl` points on every side.
struct VelocityModel {
  std::vector<std::int64_t> shape;  ///< physical domain, without the absorbing layer
  std::vector<double> spacing;      ///< m
  int nbl = 40;
  std::vector<double> velocity;     ///< km/s, on the padded grid (C order)

  std::vector<std::int64_t> padded_shape() const;
  double vmin() const;
  double vmax() const;
};

/// Horizontal layers with velocities increasing with depth (the last dimension), and a circular
/// (spherical in 3D) anomaly of +`anomaly` km/s in the middle when anomaly != 0.
VelocityModel layered_model(const std::vector<std::int64_t> &shape, const std::vector<double> &spacing, int nbl,
                            int layers = 4, double anomaly = 0.4);

/// Ricker wavelet of peak frequency f0 (kHz), delayed by 1/f0, sampled at t = k*dt (ms).
std::vector<double> ricker(double f0, double dt, std::int64_t nt);

/// The largest stable time step (ms) for the leapfrog scheme with the given space order.
double critical_dt(const std::vector<double> &spacing, int space_order, double vmax);

struct AcousticOptions {
  int space_order = 8;
  double f0 = 0.010;        ///< kHz
  double tn = 1000.0;       ///< ms
  double dt = 0.0;          ///< ms; 0 chooses 0.9 of the critical value
  DType dtype = DType::Float32;
  std::int64_t save = 0;    ///< keep the whole history of u (for gradients)
  /// Without `save`, u keeps its two levels in place (u[t+1] overwrites u[t-1]: bitwise the same
  /// results, a fifth less memory traffic); false: three modulo buffers, e.g. for an adjoint
  /// that reads u[t-1], u[t] and u[t+1] from checkpoints.
  bool in_place = true;
  std::vector<double> src;  ///< one source position (m, physical coordinates); default: top centre
  std::vector<double> rec;  ///< [nrec][ndim]; default: a line across the top, every grid point
};

/// Whether operators on grid `g` choose their loop blocks by a short timed run on their first
/// apply (ApplyArgs::autotune; remembered per shape on disk): from a million points, where the
/// blocks decide how much of a step's neighbours come from cache (181^3, order 8: 1.32 ->
/// 1.47 Gpts/s) and the trial (60 steps once, 3D) is small beside a shot.
bool worth_tuning(const Grid &g);

/// Fields and operator of the acoustic problem for one shot.
class AcousticProblem {
 public:
  AcousticProblem(const VelocityModel &model, const AcousticOptions &opts);

  /// Runs the whole shot (time steps 1 .. nt-2) and returns its performance.
  PerfReport forward(int threads = 0);

  const Grid &grid() const { return grid_; }
  double dt() const { return dt_; }
  std::int64_t nt() const { return nt_; }
  Function &m() { return *m_; }
  Function &damp() { return *damp_; }
  TimeFunction &u() { return *u_; }
  SparseTimeFunction &src() { return *src_; }
  SparseTimeFunction &rec() { return *rec_; }
  Operator &op() { return *op_; }
  const std::vector<Eq> &equations() const { return eqs_; }

 private:
  Grid grid_;
  double dt_;
  std::int64_t nt_;
  std::unique_ptr<Function> m_, damp_;
  std::unique_ptr<TimeFunction> u_;
  std::unique_ptr<SparseTimeFunction> src_, rec_;
  std::vector<Eq> eqs_;
  std::unique_ptr<Operator> op_;
};

}  // namespace tenet
