#include "support/DType.h"

#include "support/Error.h"

namespace tenet {

DType parse_dtype(const std::string &name) {
  if (name == "float32" || name == "f32" || name == "float") return DType::Float32;
  if (name == "float64" || name == "f64" || name == "double") return DType::Float64;
  throw Error(internal::cat("unknown dtype '", name, "': use float32 or float64"));
}

}  // namespace tenet
