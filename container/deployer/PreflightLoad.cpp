#include "deployer/PreflightLoad.h"

#include "app/AppLoader.h"

namespace serval::deployer {

bool preflightLoad(const std::string& library, const std::string& contextPath, std::string& detail,
                   std::string& error)
{
    // The same loader the Context uses: dlopen(RTLD_NOW | RTLD_LOCAL), the entry symbol, the
    // ABI gate, struct sizes, the app's init. Its destroy runs when `module` goes.
    std::string contextName = contextPath.empty() || contextPath == "/" ? "ROOT" : contextPath.substr(1);
    auto module = app::loadAppModule(library, contextName, error);
    if (!module) return false;
    detail = module->describe();
    if (detail.empty()) detail = library.substr(library.rfind('/') + 1) + " loaded";
    return true;
}

} // namespace serval::deployer
