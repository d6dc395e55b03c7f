import KGateCLI

#if canImport(Glibc)
import Glibc

// glibc's per-thread cache keeps only 7 freed chunks of each size; a node accepting thousands of
// short connections a second frees SwiftNIO's ~80 per-connection objects faster than that, and
// malloc's slow path (bins, consolidation) was ~20% of the user CPU per connection. glibc reads
// its tunables only when a process starts, so `kgate start` re-executes itself once with a
// larger cache (same pid, arguments and environment) unless GLIBC_TUNABLES is already set.
if CommandLine.arguments.dropFirst().first == "start", getenv("GLIBC_TUNABLES") == nil {
    setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=1024", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    unsetenv("GLIBC_TUNABLES")  // exec failed: run untuned
}

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
