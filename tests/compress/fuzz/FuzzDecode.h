/** \file FuzzDecode.h  The decoder fuzz entry, also callable by the smoke test to see what
 * became of each input. */
#pragma once

#include <cstddef>
#include <cstdint>

namespace tenet::test {

enum class FuzzOutcome { Decoded, Rejected, Skipped };

/// Decodes `data` as the fuzz target does (see FuzzDecode.cpp); aborts if a decoded buffer does
/// not have the size its header claims.
FuzzOutcome fuzz_decode_one(const std::uint8_t *data, std::size_t size);

}  // namespace tenet::test
