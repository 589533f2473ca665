/** \file DType.h  Element types of grids, fields and checkpoint buffers. */
#pragma once

#include <cstddef>
#include <string>

namespace tenet {

enum class DType { Float32, Float64 };

inline std::size_t dtype_size(DType t) { return t == DType::Float32 ? 4 : 8; }
inline const char *dtype_name(DType t) { return t == DType::Float32 ? "float32" : "float64"; }
/// The C type the code generator writes for `t`.
inline const char *dtype_ctype(DType t) { return t == DType::Float32 ? "float" : "double"; }
/// Parses "float32"/"float64" (also "f32"/"f64", "float"/"double"); throws tenet::Error otherwise.
DType parse_dtype(const std::string &name);

}  // namespace tenet
