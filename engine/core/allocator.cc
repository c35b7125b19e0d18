#include "core/allocator.h"

#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

namespace authwatch {

void UseFixedMmapThreshold() {
#if defined(M_MMAP_THRESHOLD)
  mallopt(M_MMAP_THRESHOLD, 1 << 20);  // setting it also turns the dynamic adjustment off
#endif
}

}  // namespace authwatch
