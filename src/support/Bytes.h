/** \file Bytes.h  Copying and clearing large byte ranges with all OpenMP threads; the machine's
 * memory. */
#pragma once

#include <cstddef>

namespace tenet {

/// memcpy(dst, src, n), split into 1 MiB chunks over the OpenMP threads when n is large (a
/// checkpoint of a 3D wavefield is tens of MB; one core copies at a fraction of the memory
/// bandwidth). The ranges must not overlap.
void copy_bytes(void *dst, const void *src, std::size_t n);

/// memset(p, 0, n), split the same way.
void clear_bytes(void *p, std::size_t n);

/// Asks for transparent huge pages on the whole 2 MiB pages inside [p, p + bytes), before
/// anything touches them: first touches then fault 2 MiB at a time instead of 4 KiB (a 134 MB
/// result vector costs ~0.08 s of page faults otherwise). Only advice; harmless where THP is off.
void advise_huge_pages(void *p, std::size_t bytes);

/// This machine's physical memory in bytes (0 where the system does not say).
std::size_t physical_memory_bytes();

}  // namespace tenet
