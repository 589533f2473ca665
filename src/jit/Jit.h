/** \file Jit.h  Compiles generated C with the system compiler into a cached shared object.
 *
 * Cache: one entry per hash of (source, compiler, flags, compiler version) in TENET_CACHE_DIR
 * (default ~/.cache/tenet). Entries are published atomically (compile to a temporary name,
 * then rename), and an entry that fails to load is treated as a miss and rebuilt.
 */
#pragma once

#include <memory>
#include <string>

namespace tenet {

/// The compiler and flags: `cc -O3 -march=native -fopenmp -shared -fPIC` unless TENET_CC or
/// TENET_CFLAGS say otherwise (TENET_CFLAGS replaces the flags; -shared -fPIC are always added).
struct CompilerConfig {
  std::string cc;
  std::string cflags;
  static CompilerConfig from_environment();
};

/// The signature every generated kernel has (see codegen/CodeGenC.h).
using KernelFunction = int (*)(void *const *, const long *, const long *, const double *);

struct CompiledKernel {
  std::shared_ptr<void> library;  ///< keeps the shared object loaded
  KernelFunction function = nullptr;
  std::string source_path, library_path;
  bool cache_hit = false;
  double seconds = 0.0;           ///< time spent here (compile or load)
};

/// Returns the kernel `symbol` from `source`, compiling it unless the cache has it. A compiler
/// error throws tenet::Error naming the generated source file and quoting the compiler.
CompiledKernel jit_compile(const std::string &source, const std::string &symbol,
                           const CompilerConfig &config = CompilerConfig::from_environment());

/// The cache directory in use (created if missing).
std::string jit_cache_dir();

/// 64-bit FNV-1a, as 16 hex digits: the cache key function.
std::string content_hash(const std::string &text);

}  // namespace tenet
