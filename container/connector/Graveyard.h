#pragma once

#include <memory>

namespace serval::connector {

/// Keeps `object` alive until the process exits, reachable (so leak checkers count it as held,
/// not lost), and never destroys it. For what a hard stop gives up while a thread that did not
/// return may still use it: event loops, worker pools, their shared state.
/// THREADS: any thread.
void keepForever(std::shared_ptr<void> object);

} // namespace serval::connector
