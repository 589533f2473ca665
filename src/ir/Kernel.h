/** \file Kernel.h  A lowered operator: loop IR plus the arguments the generated C takes. */
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/Stmt.h"
#include "support/DType.h"
#include "types/Eq.h"
#include "types/Function.h"

namespace tenet {

/// An integer argument of the kernel and what the Operator binds to it.
struct IntArg {
  enum class Role { TimeMin, TimeMax, DimMin, DimMax, BlockSize };
  Expr symbol;
  Role role;
  int dim = -1;  ///< DimMin/DimMax/BlockSize: which space dimension
};

/// The tables lowering adds for one sparse operation: per point, the grid index of the lower
/// corner of its cell (int32 [npoint][ndim]) and the multilinear weight of each of the 2^ndim
/// corners ([npoint][2^ndim]). Inject and interpolate use the same tables, so they are exact
/// adjoints of each other.
struct SparseTables {
  std::shared_ptr<FieldData> sparse, index, weight;
};

struct Kernel {
  std::string name = "Kernel";
  DType dtype = DType::Float32;
  std::optional<Grid> grid;
  std::vector<std::shared_ptr<FieldData>> fields;  ///< argument order
  std::vector<IntArg> int_args;
  std::vector<Expr> scalar_args;                   ///< Scalar symbols: dt, spacings, constants
  std::vector<SparseTables> tables;
  std::vector<Eq> equations;                       ///< as given, for reports
  bool has_time = false;
  bool backward = false;                           ///< the time loop runs from time_M to time_m
  int vector_bytes = 0;                            ///< width of ForKind::Vector loops
  bool time_tiled = false;                         ///< passes/TileTime.cpp restructured the time loop
  std::int64_t tile_width = 0;                     ///< x extent of a time tile's part at one step
  bool tile_stages = false;                        ///< time tiles pipelined across threads along y
  /// Time-tiled kernels: the x tile loop's variable (tiles start at x_m, tile_width apart) and
  /// how far a tile's part moves over a block of steps: its steps cover [x_tile - tile_skew,
  /// x_tile + tile_width - 1].
  Expr tile_var;
  std::int64_t tile_skew = 0;
  Stmt body;

  const IntArg *int_arg(IntArg::Role role, int dim = -1) const;
  Expr new_int_arg(const std::string &name, IntArg::Role role, int dim = -1);
};

}  // namespace tenet
