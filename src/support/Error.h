/** \file Error.h  User errors (clear messages, thrown as tenet::Error) and internal checks. */
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace tenet {

/// A mistake of the caller: bad input, wrong shapes, unknown names. The message says what is
/// wrong, which object, and how to fix it.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A broken invariant inside Tenet: a bug of ours, never of the user.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace internal {

template <class... Args>
std::string cat(const Args &...args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace internal
}  // namespace tenet

/// Throws tenet::Error with the concatenated message when `cond` is false.
#define TENET_USER_CHECK(cond, ...) \
  do { \
    if (!(cond)) throw ::tenet::Error(::tenet::internal::cat(__VA_ARGS__)); \
  } while (0)

/// Throws tenet::InternalError (with file and line) when `cond` is false.
#define TENET_INTERNAL_CHECK(cond, ...) \
  do { \
    if (!(cond)) \
      throw ::tenet::InternalError(::tenet::internal::cat( \
          "internal error at ", __FILE__, ":", __LINE__, ": ", #cond, ": ", ##__VA_ARGS__)); \
  } while (0)
