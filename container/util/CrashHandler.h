#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace serval::util {

/// Where a crash report goes. Everything here is a descriptor or memory mapped in advance: the
/// report is written from inside a signal handler, which may only make async-signal-safe calls.
struct CrashSink
{
    /// Also where util::Log writes at the moment of the crash (its file, and stderr when Log
    /// writes there too). The server sets it; a process with its own log uses `fd`.
    bool serverLog = false;
    /// A descriptor that receives the report (stderr, a worker's log); -1 = none.
    int fd = -1;
    /// Memory mapped in advance (a page shared with a supervisor) that receives the report too,
    /// cut to fit and NUL-terminated; nullptr = none. Must stay mapped for the process's life.
    char* page = nullptr;
    size_t pageSize = 0;
};

/// A fatal-signal handler that leaves a trace: on SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
/// SIGTRAP or SIGSYS it writes, as server-log lines tagged [crash],
///   - the signal, its code and the fault address, the thread's id and name;
///   - what the thread was doing (its CrashNote: the app and the request line, secrets in the
///     query redacted), or that it had no note;
///   - a backtrace: each frame's raw PC, its module and offset (addr2line -e MODULE OFFSET
///     resolves it), and the function from the module's ELF symbol table where it has one;
/// then ends the process with the same signal and its default action, so core dumps work as the
/// system configures them.
///
/// The handler is async-signal-safe: it formats into static memory, reads /proc/self/maps and
/// maps module files itself (no dladdr: that takes the loader's lock and misses the hidden
/// symbols apps are built with), copies note strings with process_vm_readv (a wild pointer reads
/// as "(unreadable)" instead of faulting again), and uses backtrace(), whose unwinder install()
/// loads beforehand. Two threads crashing at once: the first writes, the second waits for the
/// end. A fault inside the handler itself ends the process with the default action at once.
///
/// Reused by worker processes (issue 11): install() with their own sink (the shared crash
/// page), CrashNote around each request they serve.
///
/// THREADS: install() once, early, on the main thread (a later call replaces the sink only);
/// prepareThread() on each thread that wants its stack overflows reported; running() anywhere.
class CrashHandler
{
public:
    static void install(const CrashSink& sink) noexcept;
    /// Gives the calling thread an alternate signal stack (sigaltstack), unmapped when the
    /// thread exits, unless it has one already (the sanitizers install theirs). Cheap after the
    /// first call on a thread; CrashNote calls it.
    static void prepareThread() noexcept;
    /// Every thread's current note, one line each: "app /shop: GET /shop/cart HTTP/1.1 (thread
    /// 4711)", secrets in the query redacted; threads serving nothing are left out. For the last
    /// line of a shutdown that ran out of time (startup/main.cpp). Any thread; allocates (not
    /// for signal handlers).
    static std::vector<std::string> running();
};

/// What the calling thread is doing, for the crash report, for the life of this object: the app
/// (its display path) and the request it serves, or an activity ("starting"). Holds views, not
/// copies (cheap on every request): the strings must outlive the note, as the Context's path and
/// the exchange's request do around Context::service. Notes nest; the inner one shows.
class CrashNote
{
public:
    /// "app /shop: GET /shop/cart?x=1 HTTP/1.1"
    static CrashNote request(std::string_view app, std::string_view method, std::string_view target,
                             int versionMinor) noexcept
    {
        return CrashNote(app, method, target, versionMinor);
    }
    /// "app /shop: starting"
    static CrashNote activity(std::string_view app, std::string_view what) noexcept
    {
        return CrashNote(app, {}, what, -1);
    }
    ~CrashNote();
    CrashNote(const CrashNote&) = delete;
    CrashNote& operator=(const CrashNote&) = delete;

    /// What a note holds: trivial, so the thread's current one lives in static TLS, where the
    /// handler reads it without a lock. An activity has no method.
    struct Fields
    {
        const char* app;
        size_t appLength;
        const char* method;
        size_t methodLength;
        const char* target;
        size_t targetLength;
        int versionMinor;
    };

private:
    CrashNote(std::string_view app, std::string_view method, std::string_view target,
              int versionMinor) noexcept;

    Fields _previous; ///< the note this one hides, back in place when it ends
};

} // namespace serval::util
