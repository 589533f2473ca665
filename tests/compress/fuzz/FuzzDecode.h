/** \file FuzzDecode.h  The decoder fuzz entry, also callable by the smoke test to see what
 * became of each input. */
#pragma once

#include <cstddef>
#include <cstdint>

namespace tenet::test {

/// Decoded: accepted, and exactly the size its header claims. WrongSize: accepted but of another
/// size (a decoder bug: the libFuzzer entry crashes on it, the smoke test fails).
enum class FuzzOutcome { Decoded, Rejected, Skipped, WrongSize };

/// Decodes `data` as the fuzz target does (see FuzzDecode.cpp).
FuzzOutcome fuzz_decode_one(const std::uint8_t *data, std::size_t size);

}  // namespace tenet::test
