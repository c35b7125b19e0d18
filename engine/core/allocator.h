// How the process asks glibc's malloc for memory.
#pragma once

namespace authwatch {

// Fixes malloc's mmap threshold at 1 MiB, so every large table (the profile index, rule window
// maps, the profile vector) is mmapped and goes back to the system when a rehash frees it.
// glibc's default threshold is dynamic: the first large table freed raises it to that table's
// size, the next tables of that size then come from the heap, and when they are freed in turn
// they stay resident. With 10^6 tracked accounts that was ~30 bytes per account of freed
// pre-growth tables (bench/state_memory_bench.cc). Call first thing in main; a no-op elsewhere
// than glibc.
void UseFixedMmapThreshold();

}  // namespace authwatch
