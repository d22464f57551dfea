/* Handing freed heap memory back to the system (glibc keeps blocks below its mmap threshold for
 * reuse; malloc_trim is not visible to Swift's Glibc module). */
#include "fcs_kernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void fcs_return_freed_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
