#pragma once

#include "util/FileDescriptor.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace serval::process {

/// The shared page a worker's fatal-signal handler fills and the server reads after the
/// worker died: plain fixed-size data, written by async-signal-safe code (no allocation, no
/// locks), read by the server as hostile input (every count clamped, every string cut at its
/// buffer's end). The server symbolizes the raw PCs against the module map (Symbolizer).
///
/// Regions and their writers:
///   modules  the worker, once its Context started (dl_iterate_phdr), before any request
///   threads  each request thread, around every request (the request line it serves)
///   fault    the fatal-signal handler (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS,
///            SIGTRAP), or the exit hook when app code calls exit()
///   stack    a request thread asked to dump its own stack (requestTimeout passed)
struct CrashPage
{
    static constexpr uint32_t kMagic = 0x53564352; ///< "SVCR"
    static constexpr uint32_t kVersion = 1;
    static constexpr size_t kMaxModules = 96;
    static constexpr size_t kMaxThreads = 128;
    static constexpr size_t kMaxFrames = 64;
    static constexpr size_t kPathBytes = 256;
    static constexpr size_t kRequestBytes = 240;

    /// What ended the worker (fault.kind).
    enum Kind : uint32_t
    {
        None = 0,
        Signal = 1, ///< a fatal signal: signal, code, address
        Exit = 2,   ///< app code called exit(): the stack shows who
    };
    /// Where a record stands (fault.state, stack.state).
    enum State : uint32_t
    {
        Empty = 0,
        Writing = 1, ///< the handler runs (it may die half way: the frames so far count)
        Complete = 2,
        Requested = 3, ///< stack only: the worker asked `tid` to dump its stack
    };

    struct Module
    {
        uint64_t base = 0;  ///< load bias (dlpi_addr)
        uint64_t start = 0; ///< lowest mapped address of its PT_LOAD segments
        uint64_t end = 0;   ///< one past the highest
        char path[kPathBytes] = {};
    };
    struct ThreadNote
    {
        std::atomic<int32_t> tid{0};   ///< 0 = slot free
        std::atomic<uint32_t> busy{0}; ///< 1 while a request runs
        uint32_t channel = 0;
        uint32_t stream = 0;
        char request[kRequestBytes] = {}; ///< "GET /shop/cart HTTP/1.1"
    };
    struct Frames
    {
        std::atomic<uint32_t> state{Empty};
        int32_t tid = 0;
        uint32_t count = 0;
        uint64_t pcs[kMaxFrames] = {};
    };

    uint32_t magic = kMagic;
    uint32_t version = kVersion;
    uint32_t moduleCount = 0;
    Module modules[kMaxModules];
    ThreadNote threads[kMaxThreads];
    struct Fault
    {
        std::atomic<uint32_t> state{Empty};
        uint32_t kind = None;
        int32_t signal = 0;
        int32_t code = 0;     ///< si_code
        uint64_t address = 0; ///< si_addr
        Frames frames;
    } fault;
    struct Stack
    {
        uint32_t channel = 0;
        uint32_t stream = 0;
        Frames frames;
    } stack;
};

/// A CrashPage mapped into this process: the server creates it (create()) and passes its
/// memfd to the worker, which maps the same pages (attach()). OWNERSHIP: owns the mapping and
/// the descriptor.
class CrashPageMapping
{
public:
    CrashPageMapping() = default;
    ~CrashPageMapping();
    CrashPageMapping(const CrashPageMapping&) = delete;
    CrashPageMapping& operator=(const CrashPageMapping&) = delete;

    /// Throws std::runtime_error.
    void create();
    void attach(util::FileDescriptor fd);

    CrashPage* page() noexcept { return _page; }
    const CrashPage* page() const noexcept { return _page; }
    int fd() const noexcept { return _fd.get(); }

private:
    util::FileDescriptor _fd;
    CrashPage* _page = nullptr;
};

/// What the server read from a crash page, copied out of shared memory and sanitised.
struct CrashSnapshot
{
    struct Module
    {
        uint64_t base = 0;
        uint64_t start = 0;
        uint64_t end = 0;
        std::string path;
    };
    struct Thread
    {
        int32_t tid = 0;
        std::string request; ///< "" when idle
    };
    uint32_t kind = CrashPage::None;
    int32_t signal = 0;
    int32_t code = 0;
    uint64_t address = 0;
    int32_t tid = 0; ///< the thread the frames belong to
    std::vector<uint64_t> frames;
    std::vector<Module> modules;
    std::vector<Thread> threads; ///< those that were serving a request
    /// The request line of `tid`, if it was serving one.
    std::string faultingRequest() const;

    /// The fault record (kind None if the handler never ran).
    static CrashSnapshot readFault(const CrashPage& page);
    /// The stack a request thread dumped (frames empty unless stack.state is Complete).
    static CrashSnapshot readStack(const CrashPage& page);
};

} // namespace serval::process
