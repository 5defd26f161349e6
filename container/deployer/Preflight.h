#pragma once

#include <chrono>
#include <string>

namespace serval::deployer {

/// Loading a library runs its constructors, so before the server loads a new version it runs
/// the whole load (ELF check, dlopen, ABI gate, init) in a short-lived child process: the same
/// binary in preflight mode (`serval preflight LIB.so --context /shop`, also
/// `servalctl preflight`). A library that crashes, exits, hangs or fails there is refused and
/// never reaches the server process.

/// The preflight mode itself: `argv[1] == "preflight"`, argv[2] the library. Prints one line
/// to stdout ("ok: ..." or "refused: <reason>") and returns the exit status: 0 ok, 1 refused,
/// 2 usage. Called by the `serval` and `servalctl` mains before anything else starts.
int preflightMain(int argc, char** argv);

struct PreflightResult
{
    bool ok = false;
    std::string detail; ///< on success what was loaded ("libshop.so (ABI 1.0)"); else the reason
};

/// Runs `binary preflight LIB --context PATH` with posix_spawn (never a bare fork of the
/// threaded server), waits up to `deadline`, kills it (SIGKILL) on timeout, and turns every
/// outcome into a result with one actionable reason. Called on the deployer's control thread.
PreflightResult runPreflight(const std::string& binary, const std::string& library,
                             const std::string& contextPath, std::chrono::milliseconds deadline);

/// The path of the running executable (/proc/self/exe): the binary to preflight with.
std::string selfExecutable();

} // namespace serval::deployer
