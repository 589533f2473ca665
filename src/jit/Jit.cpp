#include "jit/Jit.h"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "support/Error.h"

namespace tenet {
namespace fs = std::filesystem;

namespace {

std::string env_or(const char *name, const std::string &fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// Runs a shell command, returning its exit status and combined output.
int run_command(const std::string &cmd, std::string &output) {
  output.clear();
  FILE *p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

const std::string &compiler_version(const std::string &cc) {
  static std::mutex m;
  static std::map<std::string, std::string> versions;
  std::lock_guard<std::mutex> lock(m);
  auto it = versions.find(cc);
  if (it != versions.end()) return it->second;
  std::string out;
  int rc = run_command(cc + " --version", out);
  TENET_USER_CHECK(rc == 0, "the C compiler '", cc, "' does not run (", out.substr(0, 200),
                   "); install gcc or set TENET_CC to a working compiler");
  return versions.emplace(cc, out.substr(0, out.find('\n'))).first->second;
}

// Writes a file under a temporary name, then renames it into place.
void write_atomically(const fs::path &path, const std::string &content) {
  static std::atomic<unsigned> counter{0};
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream f(tmp, std::ios::binary);
    f << content;
    f.close();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(internal::cat("cannot write ", tmp.string(), "; check that TENET_CACHE_DIR is writable"));
    }
  }
  fs::rename(tmp, path);
}

std::shared_ptr<void> try_load(const fs::path &so, const std::string &symbol, KernelFunction &fn) {
  void *h = ::dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) return nullptr;
  void *f = ::dlsym(h, symbol.c_str());
  if (!f) {
    ::dlclose(h);
    return nullptr;
  }
  fn = reinterpret_cast<KernelFunction>(f);
  return std::shared_ptr<void>(h, [](void *p) { ::dlclose(p); });
}

}  // namespace

CompilerConfig CompilerConfig::from_environment() {
  CompilerConfig c;
  c.cc = env_or("TENET_CC", "cc");
  c.cflags = env_or("TENET_CFLAGS", "-O3 -march=native -fopenmp");
  return c;
}

std::string content_hash(const std::string &text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string jit_cache_dir() {
  std::string dir = env_or("TENET_CACHE_DIR", "");
  if (dir.empty()) {
    std::string home = env_or("HOME", "/tmp");
    dir = home + "/.cache/tenet";
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  TENET_USER_CHECK(fs::is_directory(dir), "cannot create the JIT cache directory ", dir, " (", ec.message(),
                   "); set TENET_CACHE_DIR to a writable directory");
  return dir;
}

CompiledKernel jit_compile(const std::string &source, const std::string &symbol, const CompilerConfig &config) {
  auto t0 = std::chrono::steady_clock::now();
  const std::string flags = config.cflags + " -shared -fPIC";
  const std::string key =
      content_hash(source + "\n--\n" + config.cc + "\n" + flags + "\n" + compiler_version(config.cc));
  const fs::path dir = jit_cache_dir();
  const fs::path src = dir / ("tenet-" + key + ".c");
  const fs::path so = dir / ("tenet-" + key + ".so");

  CompiledKernel out;
  out.source_path = src.string();
  out.library_path = so.string();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  if (fs::exists(so)) {
    if (auto lib = try_load(so, symbol, out.function)) {
      out.library = lib;
      out.cache_hit = true;
      out.seconds = elapsed();
      return out;
    }
    std::error_code ec;  // unreadable or truncated entry: a miss
    fs::remove(so, ec);
  }
  write_atomically(src, source);
  fs::path tmp = so;
  static std::atomic<unsigned> counter{0};
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  std::string output;
  int rc = run_command(config.cc + " " + flags + " -o " + quote(tmp.string()) + " " + quote(src.string()), output);
  if (rc != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(internal::cat("compiling the generated kernel ", src.string(), " with '", config.cc, " ", flags,
                              "' failed (exit ", rc, "):\n", output.substr(0, 4000),
                              "\nCheck TENET_CC and TENET_CFLAGS; the source file is kept for inspection."));
  }
  fs::rename(tmp, so);
  out.library = try_load(so, symbol, out.function);
  TENET_USER_CHECK(out.library != nullptr, "cannot load the compiled kernel ", so.string(), ": ", ::dlerror());
  out.seconds = elapsed();
  return out;
}

}  // namespace tenet
