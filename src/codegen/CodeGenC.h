/** \file CodeGenC.h  Loop IR -> readable C99 with OpenMP, one function per Kernel.
 *
 * The generated function has one fixed signature, so a kernel of any shape is called the same
 * way from C++:
 *   int NAME(void *const *fields, const long *sizes, const long *ia, const double *sa)
 * fields: data pointers in Kernel::fields order; sizes: the allocated extent of every storage
 * dimension of every field, concatenated in the same order; ia: Kernel::int_args; sa:
 * Kernel::scalar_args (converted to the kernel's element type inside).
 */
#pragma once

#include <string>

#include "ir/Kernel.h"

namespace tenet {

std::string generate_c(const Kernel &k);

}  // namespace tenet
