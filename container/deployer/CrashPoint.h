#pragma once

namespace serval::deployer {

/// Crash-safety tests: if the environment variable SERVAL_TEST_CRASH_AT equals `point`, the
/// process ends at once with _exit(86), as a kill -9 would leave it (no destructors, no
/// flushing). Points: "staged", "renamed", "started", "routed", "registered", "drained".
/// Read once per call from the environment; costs one getenv on the control thread.
void crashPoint(const char* point) noexcept;

} // namespace serval::deployer
