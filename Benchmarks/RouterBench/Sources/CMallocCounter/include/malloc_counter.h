#ifndef KGATE_MALLOC_COUNTER_H
#define KGATE_MALLOC_COUNTER_H

/// Number of allocation calls (malloc, calloc, realloc, posix_memalign, aligned_alloc,
/// memalign) made by the whole process since it started.
unsigned long long kgate_malloc_count(void);

/// Does nothing: a place to put a debugger breakpoint before the allocations to inspect.
void kgate_probe_marker(void);

#endif
