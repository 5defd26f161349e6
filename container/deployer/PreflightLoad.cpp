#include "deployer/PreflightLoad.h"

#include "app/AppLoader.h"
#include "bundle/ElfInspector.h"
#include "config/WebAppConfig.h"
#include "core/CodeDeclarations.h"
#include "core/Servlet.h"

#include <csignal>
#include <cstdio>
#include <memory>
#include <sys/prctl.h>
#include <unistd.h>
#include <vector>

namespace serval::deployer {

namespace {

using bundle::PreflightProtocol;
using util::failure;

std::string baseName(const std::string& path)
{
    return path.substr(path.rfind('/') + 1);
}

/// One line to stdout, unbuffered: it must be there even if the next step crashes.
void writeLine(std::string_view prefix, const std::string& text)
{
    std::string line = std::string(prefix) + text + "\n";
    ssize_t ignored = ::write(STDOUT_FILENO, line.data(), line.size());
    (void)ignored;
}

using Modules = std::vector<std::shared_ptr<core::AppModule>>;

/// Creates `className` with the first module that offers it (the Context's rule: the last
/// module's refusal is the reason when none does). `create` is the AppModule::create* method.
template <typename T>
util::Expected<std::unique_ptr<T>>
createFromModules(const Modules& modules, const std::string& className, const char* kind,
                  std::unique_ptr<T> (core::AppModule::*create)(const std::string&, std::string&))
{
    std::string error;
    for (const auto& module : modules) {
        if (std::unique_ptr<T> instance = ((*module).*create)(className, error)) return instance;
    }
    if (error.empty())
        error = std::string("no library in WEB-INF/lib provides ") + kind + " class \"" + className + "\"";
    return failure(error);
}

/// Creates every class of `classNames` into `out` (destroyed with it).
template <typename T>
util::Outcome createAll(const Modules& modules, const std::vector<std::string>& classNames, const char* kind,
                        std::unique_ptr<T> (core::AppModule::*create)(const std::string&, std::string&),
                        std::vector<std::unique_ptr<T>>& out)
{
    for (const std::string& className : classNames) {
        util::Expected<std::unique_ptr<T>> instance = createFromModules(modules, className, kind, create);
        if (!instance) return instance.failure();
        out.push_back(std::move(*instance));
    }
    return {};
}

} // namespace

util::Expected<std::string> preflightLoad(const bundle::PreflightRequest& request)
{
    // Declared first so they go last: every instance below points into these libraries.
    Modules modules;
    std::string detail;
    for (const std::string& library : request.libraries) {
        writeLine(PreflightProtocol::kLoading, baseName(library));
        std::string error;
        std::shared_ptr<core::AppModule> module = app::loadAppModule(library, request.appName, error);
        if (!module) return failure(error);
        std::string description = module->describe();
        detail += (detail.empty() ? "" : "; ") +
                  (description.empty() ? baseName(library) + " loaded" : description);
        modules.push_back(std::move(module));
    }
    // What the Context will create: web.xml over the code's declarations, then the classes
    // asked for by name.
    std::vector<std::string> listenerClasses, filterClasses, servletClasses;
    try {
        config::WebAppConfig web;
        if (!request.webXml.empty()) web = config::readWebXml(request.webXml, "WEB-INF/web.xml");
        web = core::mergeCodeDeclarations(modules, web);
        listenerClasses = web.listeners;
        for (const config::FilterDef& filter : web.filters)
            filterClasses.push_back(filter.className);
        for (const config::ServletDef& servlet : web.servlets)
            servletClasses.push_back(servlet.className);
    } catch (const std::exception& e) {
        return failure("app \"" + request.appName + "\": " + e.what());
    }
    listenerClasses.insert(listenerClasses.end(), request.listenerClasses.begin(),
                           request.listenerClasses.end());
    filterClasses.insert(filterClasses.end(), request.filterClasses.begin(), request.filterClasses.end());
    servletClasses.insert(servletClasses.end(), request.servletClasses.begin(), request.servletClasses.end());

    // The Context's order: listeners, filters, servlets; destroyed in reverse with the vectors.
    std::vector<std::unique_ptr<core::Listener>> listeners;
    std::vector<std::unique_ptr<core::Filter>> filters;
    std::vector<std::unique_ptr<core::Servlet>> servlets;
    util::Outcome created =
        createAll(modules, listenerClasses, "listener", &core::AppModule::createListener, listeners);
    if (created)
        created = createAll(modules, filterClasses, "filter", &core::AppModule::createFilter, filters);
    if (created)
        created = createAll(modules, servletClasses, "servlet", &core::AppModule::createServlet, servlets);
    if (!created) return created.failure();
    return detail;
}

int preflightMain(int argc, char** argv)
{
    util::Expected<bundle::PreflightRequest> request = bundle::PreflightRequest::parse(argc, argv);
    if (!request) {
        std::fprintf(stderr, "%s\n", request.error().c_str());
        return 2;
    }
    // If the server dies (kill -9) while we load, do not linger: a hanging library would
    // otherwise keep this orphan alive forever.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // ELF checks here; the entry symbol and ABI gate are the loader's (its sentences).
    for (const std::string& library : request->libraries) {
        util::Outcome elf = bundle::ElfInspector::check(library, false);
        if (!elf) {
            writeLine(PreflightProtocol::kRefused, baseName(library) + " " + elf.error());
            return 1;
        }
    }
    util::Expected<std::string> loaded = preflightLoad(*request);
    if (!loaded) {
        writeLine(PreflightProtocol::kRefused, loaded.error());
        return 1;
    }
    writeLine(PreflightProtocol::kOk, *loaded);
    return 0;
}

} // namespace serval::deployer
