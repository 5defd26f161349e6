#pragma once

#include "core/Servlet.h"

#include <memory>
#include <string>

namespace serval::app {

/// Loads the app library at `libPath` for the context named `contextName` (used in messages:
/// `app "shop" ...`): dlopen (RTLD_NOW | RTLD_LOCAL), entry symbol, ABI version gate, struct
/// sizes, the app's on_init.
///
/// Returns nullptr and sets `error` to one sentence naming what is wrong and what to do, e.g.
///   app "shop" was built for ABI 2.0; this container provides 1.1: rebuild it against SDK 1.x
///
/// Called by the Context (through an injected std::function) on a control thread.
std::shared_ptr<core::AppModule> loadAppModule(const std::string& libPath, const std::string& contextName,
                                               std::string& error);

} // namespace serval::app
