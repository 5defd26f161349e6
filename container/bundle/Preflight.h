#pragma once

#include "bundle/BundleValidator.h"
#include "util/Expected.h"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace serval::bundle {

/// Loading a library runs its constructors, so before a bundle's code reaches the server the
/// whole load runs in a short-lived child process: the `serval` binary in preflight mode
/// (container/deployer/PreflightLoad.h), which loads every WEB-INF/lib library the way the
/// Context will (ELF check, dlopen, ABI gate, the app's init) and creates every listener,
/// filter and servlet class web.xml names, then destroys them again. A library that crashes,
/// exits, hangs or fails there is refused and never reaches the server process.
///
/// This side only starts the child and reads its verdict (the bundle library never loads
/// code). The deploy (HostDeployer) and `servalctl verify` both call preflightBundle(), so the
/// two give the same answer by construction.

/// What one preflight is asked to do. On the command line:
///   serval preflight [--app NAME] [--web-xml WEB.XML] [--listener CLASS]... [--filter CLASS]...
///                    [--servlet CLASS]... LIB.so...
/// The child creates every class the libraries declare in code merged under `webXml` (the
/// Context's own rule, core::mergeCodeDeclarations), then the classes listed explicitly.
struct PreflightRequest
{
    std::string appName = "preflight";        ///< names the app in the loader's messages ("shop")
    std::string webXml;                       ///< the bundle's WEB-INF/web.xml; "" for none
    std::vector<std::string> libraries;       ///< paths, in the Context's load order
    std::vector<std::string> listenerClasses; ///< created in this order: listeners, filters,
    std::vector<std::string> filterClasses;   ///< servlets, each in web.xml order (as the
    std::vector<std::string> servletClasses;  ///< Context creates them)

    /// For the validated bundle unpacked at `root` and labelled `label` ("shop##2.sar"): its
    /// libraries, its descriptor, and the app name the Context will get.
    static PreflightRequest forBundle(const std::string& root, std::string_view label,
                                      const ValidationReport& report);
    /// The command line after `BINARY preflight`.
    std::vector<std::string> arguments() const;
    /// The child's side: parses argv (argv[1] == "preflight"); a usage error is one line.
    static util::Expected<PreflightRequest> parse(int argc, char** argv);
};

/// The lines the child writes on stdout. The verdict is the last "ok: " or "refused: " line
/// (anything else is the app's own output); a "loading: LIB.so" line before each library
/// names the one to blame when the process crashes, exits or hangs.
struct PreflightProtocol
{
    static constexpr std::string_view kOk = "ok: ";
    static constexpr std::string_view kRefused = "refused: ";
    static constexpr std::string_view kLoading = "loading: ";
};

/// Runs `binary preflight ...` with posix_spawn (never a bare fork of the threaded server),
/// waits up to `deadline` for the whole request, kills the child (SIGKILL) on timeout, and
/// turns every outcome into one actionable line. On success returns what was loaded
/// ("libshop.so (ABI 1.0)"; several joined by "; "). Called on the deployer's control thread
/// and by servalctl.
util::Expected<std::string> runPreflight(const std::string& binary, const PreflightRequest& request,
                                         std::chrono::milliseconds deadline);

/// The step after BundleValidator::validate() in a deploy and in `servalctl verify`: preflights
/// the bundle unpacked at `root` (nothing to do when it holds no library). A refusal is
/// prefixed with `label`: "shop.sar: libshop.so crashed the preflight process with SIGSEGV ...".
util::Expected<std::string> preflightBundle(const std::string& binary, const std::string& root,
                                            std::string_view label, const ValidationReport& report,
                                            std::chrono::milliseconds deadline);

/// The path of the running executable (/proc/self/exe): the server preflights with itself,
/// servalctl looks for `serval` next to it.
std::string selfExecutable();

} // namespace serval::bundle
