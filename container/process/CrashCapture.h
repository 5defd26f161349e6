#pragma once

#include "process/CrashPage.h"

#include <cstdint>
#include <string_view>

namespace serval::process {

/// The worker's side of the crash page: a fatal-signal handler (on an alternate stack,
/// async-signal-safe: it only stores into the pre-mapped page and calls backtrace(), loaded
/// at install) that records the signal, the fault address and the faulting thread's raw PCs,
/// then lets the worker die of the same signal (core dumps still work); an exit() hook that
/// records who called exit(); per-thread notes of the request being served; and the stack
/// dump a request thread performs on itself when asked (requestTimeout).
///
/// THREADS: install() once on the worker's main thread before other threads exist; every
/// thread that runs app code calls enterThread() first (its alternate stack and note slot).
/// All functions are static: there is one page per process.
class CrashCapture
{
public:
    /// Installs the handlers over `page` (which must outlive the process).
    static void install(CrashPage* page);
    /// Records the loaded objects (dl_iterate_phdr) into the page. Call after the app's
    /// libraries are loaded (and again if more are loaded later).
    static void recordModules();
    /// The calling thread: an alternate signal stack and a note slot. Returns the slot index,
    /// or -1 when every slot is taken (the thread still runs; its request is not noted).
    static int enterThread();
    /// The calling thread starts / stops serving a request (enterThread() first).
    static void beginRequest(uint32_t channel, uint32_t stream, std::string_view method,
                             std::string_view target) noexcept;
    static void endRequest() noexcept;
    /// The thread serving (channel, stream), or 0 if none does.
    static int32_t threadServing(uint32_t channel, uint32_t stream) noexcept;
    /// Asks thread `tid` to dump its own stack into the page's stack record, and waits up to
    /// `timeoutMs` for it. True if the stack is there.
    static bool captureStack(int32_t tid, uint32_t channel, uint32_t stream, int timeoutMs) noexcept;
    /// Called before a deliberate exit: the exit hook then records nothing.
    static void disarmExitHook() noexcept;
};

} // namespace serval::process
