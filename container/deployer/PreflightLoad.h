#pragma once

#include "bundle/Preflight.h"
#include "util/Expected.h"

#include <string>

namespace serval::deployer {

/// The preflight mode of the `serval` binary (bundle/Preflight.h starts it and reads its
/// verdict):
///   serval preflight [--app NAME] [--listener CLASS]... [--filter CLASS]... [--servlet CLASS]... LIB.so...
/// Checks each library's ELF header, then preflightLoad(). Writes "loading: LIB.so" before each
/// library and one verdict line to stdout ("ok: ..." or "refused: <reason>") and returns the
/// exit status: 0 ok, 1 refused, 2 usage. Called by the `serval` main before anything else
/// starts; the process exits right after, so nothing it loaded stays anywhere.
int preflightMain(int argc, char** argv);

/// Loads the app the way the Context will, inside the preflight process only: each library
/// through app::loadAppModule (dlopen RTLD_NOW | RTLD_LOCAL, entry symbol, ABI gate, the app's
/// init), then creates every listener, filter and servlet class the request names, each from
/// the first library that offers it, as the Context does, and destroys them again before the
/// libraries are unloaded. On success returns what loaded ("libshop.so (ABI 1.0)"; several
/// joined by "; "); a refusal is the loader's or the module's own sentence.
util::Expected<std::string> preflightLoad(const bundle::PreflightRequest& request);

} // namespace serval::deployer
