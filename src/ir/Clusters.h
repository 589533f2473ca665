/** \file Clusters.h  Equations -> clusters: groups sharing one loop nest, validated. */
#pragma once

#include <vector>

#include "types/Eq.h"

namespace tenet {

/// Consecutive dense equations over the same iteration space with no dependence that a fused,
/// parallel sweep would break; or one sparse operation.
struct Cluster {
  bool sparse = false;
  int extend = 0;
  std::vector<Eq> eqs;
};

/// Checks every equation (clear errors for what cannot be scheduled) and groups them.
std::vector<Cluster> make_clusters(const std::vector<Eq> &eqs);

}  // namespace tenet
