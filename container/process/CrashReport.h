#pragma once

#include "process/CrashPage.h"
#include "process/WorkerProcess.h"
#include "registry/Registry.h"

#include <string>

namespace serval::process {

/// Turns what the supervisor knows about a worker's end into the crash record the registry
/// keeps (registry::CrashRecord): symbolizes the crash page's PCs (Symbolizer), names the
/// faulting function (the first frame in the app's own libraries), the request the faulting
/// thread served, and writes one summary line an operator can act on, e.g.
///   SIGSEGV at 0x0 in serval_fixture_null_write (Faults.cpp:27, libfaults.so) while serving GET /faults/segv
/// THREADS: the supervisor's.
class CrashReport
{
public:
    /// A worker that died unexpectedly: `exit` is how, `snapshot` what its handler wrote (kind
    /// None if it never ran: SIGKILL, the OOM killer), `why` a reason of the server's own when
    /// it killed the worker ("the response ring holds an impossible record"), else "".
    static registry::CrashRecord crash(const WorkerProcess& worker, const CrashSnapshot& snapshot,
                                       const std::string& why);
    /// A request that ran past requestTimeout, with the stack its thread dumped (frames empty
    /// if it did not answer the signal).
    static registry::CrashRecord timeout(const WorkerProcess& worker, const CrashSnapshot& stack,
                                         const std::string& requestLine,
                                         std::chrono::milliseconds requestTimeout);
    /// "c18c3a0b2f1-7d2e": time in ms and a random part, hex.
    static std::string newCrashId();
};

} // namespace serval::process
