import KGateCLI

#if canImport(Glibc)
import Glibc

/// glibc's `mallopt(3)` (from <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt") func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

// Config loads run on several threads; glibc's default of 8 malloc arenas per core keeps each
// thread's freed memory in its own arena, which nearly doubled the peak RSS of a reload. Two
// arenas keep reloads within 2× the steady-state memory (`make bench-reload`); the request hot
// path does not allocate, so it does not contend on them. MALLOC_ARENA_MAX still wins.
if getenv("MALLOC_ARENA_MAX") == nil {
    let mallocArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    _ = glibcMallopt(mallocArenaMax, 2)
}
#endif

await KGateCommand.launch()
