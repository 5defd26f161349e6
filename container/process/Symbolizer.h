#pragma once

#include "process/CrashPage.h"

#include <cstdint>
#include <string>
#include <vector>

namespace serval::process {

/// One symbolized frame of a crash record.
struct Frame
{
    uint64_t pc = 0;
    std::string module;     ///< file name of the object ("libshop.so"), "" if unknown
    std::string modulePath; ///< its full path
    uint64_t offset = 0;    ///< pc - module base
    std::string function;   ///< demangled, "" without a symbol
    std::string file;       ///< source file where debug info exists, else ""
    int line = 0;
    /// "#3 0x7f1c2a4b1234 serval_fixture_null_write at Faults.cpp:27 (libfaults.so+0x1234)"
    std::string describe(size_t index) const;
};

/// Turns the raw PCs a worker wrote into function names and, where debug info exists,
/// file:line, with elfutils' libdw: each module of the crash page's map is reported at the
/// address it was loaded at, so the PCs need no arithmetic. Runs in the SERVER (never in the
/// dying worker: nothing there is safe to call), on the supervisor thread.
///
/// The modules are read from disk by path: a version directory is kept until its workers are
/// gone, so the files are the ones that were loaded.
class Symbolizer
{
public:
    static std::vector<Frame> symbolize(const CrashSnapshot& crash);
    /// The first frame in a library under `appDirectory` (the app's docBase), else the first
    /// with a name: what a crash summary names as the faulting function. nullptr if none.
    static const Frame* culprit(const std::vector<Frame>& frames, const std::string& appDirectory);
};

} // namespace serval::process
