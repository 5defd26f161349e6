#include "app/AppLoader.h"

#include "app/NativeAppModule.h"

namespace serval::app {

std::shared_ptr<core::AppModule> loadAppModule(const std::string& libPath, const std::string& contextName,
                                               std::string& error)
{
    try {
        auto module = std::make_shared<NativeAppModule>(contextName, libPath);
        if (!module->load(error)) return nullptr;
        return module;
    } catch (const std::exception& e) {
        error = "app \"" + contextName + "\": loading " + libPath + " failed: " + e.what();
        return nullptr;
    }
}

} // namespace serval::app
