// loadAppModule() against one fixture library per refusal or failure (tests/fixtures), and the
// adapters (servlet, filter, listener) driven directly with core::Request / core::Response.
#include "app/AppLoader.h"

#include "app/NativeAppModule.h"
#include "core/FilterChain.h"
#include "core/Request.h"
#include "core/Response.h"
#include "core/Servlet.h"
#include "support/Fixtures.h"
#include "support/TempDir.h"
#include "util/Log.h"

#include <algorithm>
#include <cstdio>
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <stdexcept>

using namespace serval;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

/// This SDK's (and host's) ABI version: "1.2". The fixtures are built with the same header.
const std::string kAbi = std::to_string(SERVAL_ABI_MAJOR) + "." + std::to_string(SERVAL_ABI_MINOR);

std::string fixture(const std::string& name)
{
    return test::fixtureLibrary(name);
}

/// Loads a fixture expecting a refusal; returns the sentence.
std::string refusal(const std::string& name)
{
    std::string error;
    auto module = app::loadAppModule(fixture(name), "shop", error);
    EXPECT_EQ(module, nullptr) << name << " was accepted";
    EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
    return error;
}

bool isMapped(const std::string& path)
{
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (handle == nullptr) return false;
    ::dlclose(handle);
    return true;
}

/// A ServletContext for unit tests: attributes in a map, log lines collected.
class TestContext : public core::ServletContext
{
public:
    const std::string& contextPath() const noexcept override { return _path; }
    const std::string& displayName() const noexcept override { return _name; }
    const std::string* initParameter(std::string_view name) const noexcept override
    {
        auto it = _params.find(std::string(name));
        return it == _params.end() ? nullptr : &it->second;
    }
    const std::map<std::string, std::string>& initParameters() const noexcept override { return _params; }
    bool attribute(std::string_view name, std::string& value) const override
    {
        auto it = _attributes.find(std::string(name));
        if (it == _attributes.end()) return false;
        value = it->second;
        return true;
    }
    void setAttribute(std::string_view name, std::string_view value) override
    {
        _attributes[std::string(name)] = std::string(value);
    }
    void removeAttribute(std::string_view name) override { _attributes.erase(std::string(name)); }
    std::string realPath(std::string_view path) const override { return "/docbase" + std::string(path); }
    void log(util::LogLevel, std::string_view message) const noexcept override
    {
        lines.emplace_back(message);
    }

    mutable std::vector<std::string> lines;

private:
    std::string _path = "/shop";
    std::string _name = "Shop";
    std::map<std::string, std::string> _params{{"mode", "test"}};
    std::map<std::string, std::string> _attributes;
};

/// A Request needs a Context reference only for context(); the adapters never call it.
core::Context& noContext()
{
    return *reinterpret_cast<core::Context*>(alignof(std::max_align_t));
}

struct Exchange
{
    explicit Exchange(std::string method = "GET", std::string query = {})
    {
        exchange.request.method = std::move(method);
        exchange.request.path = "/shop/x";
        exchange.request.query = std::move(query);
    }
    http::HttpExchange exchange;
    core::Request request{exchange, noContext()};
    core::Response response{exchange};
};

struct Loaded
{
    std::shared_ptr<core::AppModule> module;
    TestContext context;

    explicit Loaded(const std::string& name)
    {
        std::string error;
        module = app::loadAppModule(fixture(name), "shop", error);
        EXPECT_NE(module, nullptr) << error;
    }
    std::unique_ptr<core::Servlet> servlet(const std::string& className, const std::string& servletName)
    {
        std::string error;
        auto servlet = module->createServlet(className, error);
        EXPECT_NE(servlet, nullptr) << error;
        if (!servlet) return nullptr;
        core::ServletConfig config;
        config.name = servletName;
        config.className = className;
        config.context = &context;
        servlet->init(config);
        return servlet;
    }
};

// ---- how serval_add_bundle builds an app -------------------------------------------------------

std::string run(const std::string& command)
{
    std::string output;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
            output.append(buffer, n);
        ::pclose(pipe);
    }
    return output;
}

TEST(AppLoaderTest, BundledAppsExportOnlyTheEntrySymbolAndBindNow)
{
    for (const char* sample : {"hello", "hello-c", "forms"}) {
        std::string lib = test::env("SERVAL_BUILD", SERVAL_BUILD_DIR) + "/bundles/" + sample +
                          "/WEB-INF/lib/lib" + sample + ".so";
        std::string symbols = run("nm -D --defined-only '" + lib + "' 2>&1");
        ASSERT_THAT(symbols, HasSubstr(" T serval_app_init_v1\n")) << lib << ":\n" << symbols;
        size_t lines = static_cast<size_t>(std::count(symbols.begin(), symbols.end(), '\n'));
        EXPECT_EQ(lines, 1u) << lib << " exports more than the entry:\n" << symbols;
        EXPECT_THAT(run("readelf -d '" + lib + "'"), HasSubstr("BIND_NOW")) << lib;
    }
}

// ---- refusals: one sentence each ---------------------------------------------------------------

TEST(AppLoaderTest, MissingEntrySymbolIsRefused)
{
    EXPECT_EQ(refusal("no_entry"),
              "app \"shop\": libno_entry.so does not export serval_app_init_v1: build it with "
              "serval_add_bundle() and SERVAL_APP(...), or define that entry from serval/abi.h");
}

TEST(AppLoaderTest, OtherMajorEntryIsRefusedNamingBothVersions)
{
    EXPECT_EQ(refusal("other_major"), "app \"shop\" was built for ABI 2.x; this container provides " + kAbi +
                                          ": rebuild it against SDK 1.x");
}

TEST(AppLoaderTest, OtherMajorDescriptorIsRefusedNamingBothVersions)
{
    EXPECT_EQ(refusal("other_major_descriptor"),
              "app \"shop\" was built for ABI 2.0; this container provides " + kAbi +
                  ": rebuild it against SDK 1.x");
}

TEST(AppLoaderTest, NewerMinorIsRefused)
{
    EXPECT_EQ(refusal("newer_minor"), "app \"shop\" was built for ABI 1.7; this container provides " + kAbi +
                                          ": rebuild it against SDK " + kAbi + " or upgrade Serval");
}

TEST(AppLoaderTest, ShortDescriptorIsRefused)
{
    EXPECT_EQ(refusal("short_struct"), "app \"shop\": its descriptor (serval_app_t) is 40 bytes but ABI " +
                                           kAbi + " needs at least " + std::to_string(sizeof(serval_app_t)) +
                                           ": rebuild it against SDK 1.x");
}

TEST(AppLoaderTest, FailingInitIsRefusedWithTheAppsMessage)
{
    EXPECT_EQ(refusal("init_fails"), "app \"shop\": initialisation failed: the database is not configured");
}

TEST(AppLoaderTest, ThrowingRegistrationIsRefusedWithTheExceptionMessage)
{
    EXPECT_EQ(refusal("init_throws"), "app \"shop\": initialisation failed: cannot read the configuration");
}

TEST(AppLoaderTest, FailingEntryIsRefused)
{
    EXPECT_EQ(refusal("entry_fails"),
              "app \"shop\": serval_app_init_v1 failed: refusing to start on purpose");
}

TEST(AppLoaderTest, UnresolvedSymbolIsRefusedAtLoadNotAtFirstRequest)
{
    std::string error = refusal("unresolved");
    EXPECT_THAT(error, StartsWith("app \"shop\": cannot load libunresolved.so: "));
    EXPECT_THAT(error, HasSubstr("serval_fixture_missing_function"));
}

TEST(AppLoaderTest, UnresolvedCxxSymbolIsNamedDemangledWithTheLikelyCause)
{
    EXPECT_EQ(
        refusal("unresolved_cxx"),
        "app \"shop\": cannot load libunresolved_cxx.so: undefined symbol shop::price(int) "
        "(_ZN4shop5priceEi): "
        "it was linked without the library that defines it (list that library in serval_add_bundle(... "
        "LIBRARIES ...), which links with -z defs so that the build says so), or that library is missing on "
        "this machine");
}

TEST(AppLoaderTest, LoadFailuresNameFilesAsTheBundleDoesNotByTheirStagingPath)
{
    const std::string lib = "/srv/serval/work/localhost/.staging/shop.sar-1/WEB-INF/lib/libshop.so";
    EXPECT_EQ(
        app::explainLoadFailure(lib + ": undefined symbol: missing_c_function", lib),
        "undefined symbol missing_c_function: it was linked without the library that defines it (list that "
        "library in serval_add_bundle(... LIBRARIES ...), which links with -z defs so that the build says "
        "so), or that library is missing on this machine");
    EXPECT_EQ(
        app::explainLoadFailure("libpq.so.5: cannot open shared object file: No such file or directory", lib),
        "it needs libpq.so.5, which is not installed on this machine: install it, or link it statically "
        "(WEB-INF/lib holds app libraries only)");
    EXPECT_EQ(app::explainLoadFailure(lib + ": wrong ELF class: ELFCLASS32", lib),
              "wrong ELF class: ELFCLASS32: build it for this machine and install the libraries it needs");
    std::string versioned = app::explainLoadFailure(
        "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by " + lib + ")",
        lib);
    EXPECT_EQ(versioned.find(".staging"), std::string::npos) << versioned;
    EXPECT_THAT(versioned, HasSubstr("(required by libshop.so)"));
}

TEST(AppLoaderTest, MissingFileIsRefused)
{
    EXPECT_THAT(refusal("does_not_exist"), StartsWith("app \"shop\": cannot load libdoes_not_exist.so: "));
}

TEST(AppLoaderTest, RefusedLibrariesAreUnloaded)
{
    refusal("newer_minor");
    EXPECT_FALSE(isMapped(fixture("newer_minor")));
}

// ---- a good app ---------------------------------------------------------------------------------

TEST(AppLoaderTest, GoodAppLoadsAndDescribesItself)
{
    Loaded app("good");
    ASSERT_TRUE(app.module);
    EXPECT_EQ(app.module->describe(), "libgood.so (ABI " + kAbi + ")");
    std::string error;
    EXPECT_EQ(app.module->createServlet("fixture.Nope", error), nullptr);
    EXPECT_EQ(error,
              "app \"shop\": libgood.so has no servlet class \"fixture.Nope\" (it offers: fixture.Ok): check "
              "<servlet-class> in WEB-INF/web.xml");
    EXPECT_EQ(app.module->createFilter("fixture.Nope", error), nullptr);
    EXPECT_THAT(error, HasSubstr("no filter class \"fixture.Nope\" (it offers: none)"));

    auto servlet = app.servlet("fixture.Ok", "ok");
    Exchange call;
    EXPECT_TRUE(servlet->service(call.request, call.response).ok());
    EXPECT_EQ(call.exchange.response.body(), "ok");
}

TEST(AppLoaderTest, UnloadClosesTheLibrary)
{
    std::string path = fixture("servlet_throws");
    {
        Loaded app("servlet_throws");
        EXPECT_TRUE(isMapped(path));
        auto servlet = app.servlet("fixture.Ok", "ok");
        servlet->destroy();
        auto* native = dynamic_cast<app::NativeAppModule*>(app.module.get());
        ASSERT_NE(native, nullptr);
        servlet.reset();
        native->unload();
        EXPECT_FALSE(native->stayedMapped());
    }
    EXPECT_FALSE(isMapped(path));
}

TEST(AppLoaderTest, LibraryThatStaysMappedIsDetectedAndLogged)
{
    test::TempDir dir;
    ASSERT_TRUE(util::Log::openFile(dir.file("serval.log"), false));
    {
        Loaded app("stays_mapped");
        auto servlet = app.servlet("fixture.Ok", "ok");
        Exchange call;
        EXPECT_TRUE(servlet->service(call.request, call.response).ok());
        servlet.reset();
        auto* native = dynamic_cast<app::NativeAppModule*>(app.module.get());
        ASSERT_NE(native, nullptr);
        native->unload();
        EXPECT_TRUE(native->stayedMapped());
    }
    util::Log::closeFile();
    EXPECT_TRUE(isMapped(fixture("stays_mapped")));
    EXPECT_THAT(test::readFile(dir.file("serval.log")),
                HasSubstr("app \"shop\": libstays_mapped.so stayed mapped after unload"));
}

// ---- failures in hooks --------------------------------------------------------------------------

TEST(AppLoaderTest, ThrowingServletBecomesOneSentenceNamingAppAndServlet)
{
    Loaded app("servlet_throws");
    auto failing = app.servlet("fixture.Fail", "failing");
    Exchange call;
    core::ServiceStatus status = failing->service(call.request, call.response);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.reason(), "app \"shop\" servlet \"failing\": servlet exploded");
    // The same instance, and its neighbour, keep working.
    auto ok = app.servlet("fixture.Ok", "ok");
    Exchange next;
    EXPECT_TRUE(ok->service(next.request, next.response).ok());
    EXPECT_EQ(next.exchange.response.body(), "ok");
}

/// Runs one app filter in front of one app servlet and returns the chain's failure ("" if none).
std::string chainFailure(Loaded& app, const std::string& filterClass, const std::string& filterName,
                         const std::string& servletClass, const std::string& servletName)
{
    std::string error;
    auto filter = app.module->createFilter(filterClass, error);
    EXPECT_NE(filter, nullptr) << error;
    if (!filter) return {};
    core::FilterConfig config;
    config.name = filterName;
    config.context = &app.context;
    filter->init(config);
    auto servlet = app.servlet(servletClass, servletName);
    core::FilterSteps filters{core::FilterStep(filter.get())};
    Exchange call;
    core::FilterChain chain(filters, "/", servlet.get());
    core::ServiceStatus status = chain.doFilter(call.request, call.response);
    filter->destroy();
    return status.reason();
}

TEST(AppLoaderTest, ThrowingFilterBecomesOneSentenceNamingAppAndFilter)
{
    Loaded app("filter_throws");
    EXPECT_EQ(chainFailure(app, "fixture.Exploding", "exploding", "fixture.Ok", "ok"),
              "app \"shop\" filter \"exploding\": filter exploded");
}

TEST(AppLoaderTest, FailureBehindAFilterKeepsTheServletsMessage)
{
    Loaded app("servlet_throws");
    EXPECT_EQ(chainFailure(app, "fixture.Passing", "passing", "fixture.Fail", "failing"),
              "app \"shop\" servlet \"failing\": servlet exploded");
}

TEST(AppLoaderTest, ThrowingDestroyIsLoggedAndContained)
{
    test::TempDir dir;
    ASSERT_TRUE(util::Log::openFile(dir.file("serval.log"), false));
    {
        Loaded app("destroy_throws");
        auto servlet = app.servlet("fixture.Fail", "failing");
        servlet->destroy(); // noexcept: must not terminate
    }
    util::Log::closeFile();
    EXPECT_THAT(test::readFile(dir.file("serval.log")),
                HasSubstr("app \"shop\" servlet \"failing\": destroy exploded (in destroy)"));
}

// ---- isolation and foreign toolchains ----------------------------------------------------------

TEST(AppLoaderTest, TwoAppsWithTheSameSymbolsAndSingletonDoNotShareState)
{
    Loaded a("isolation_a");
    Loaded b("isolation_b");
    auto servletA = a.servlet("fixture.Count", "count");
    auto servletB = b.servlet("fixture.Count", "count");
    auto call = [](core::Servlet& servlet) {
        Exchange exchange;
        EXPECT_TRUE(servlet.service(exchange.request, exchange.response).ok());
        return exchange.exchange.response.body();
    };
    EXPECT_EQ(call(*servletA), "a 1 a");
    EXPECT_EQ(call(*servletA), "a 2 a");
    EXPECT_EQ(call(*servletB), "b 1 b");
    EXPECT_EQ(call(*servletA), "a 3 a");
}

TEST(AppLoaderTest, SdkStateStaysPrivateEvenWithoutTheBundleFlags)
{
    Loaded a("plain_a");
    Loaded b("plain_b");
    auto servletA = a.servlet("fixture.Name", "name");
    auto servletB = b.servlet("fixture.Name", "name");
    Exchange callA;
    EXPECT_TRUE(servletA->service(callA.request, callA.response).ok());
    Exchange callB;
    EXPECT_TRUE(servletB->service(callB.request, callB.response).ok());
    EXPECT_EQ(callA.exchange.response.body(), "a");
    EXPECT_EQ(callB.exchange.response.body(), "b");
}

TEST(AppLoaderTest, AppBuiltWithClangAndLibcxxServes)
{
    if (::access(fixture("libcxx").c_str(), R_OK) != 0) GTEST_SKIP() << "clang++/libc++ not installed";
    Loaded app("libcxx");
    auto hello = app.servlet("libcxx.Hello", "hello");
    Exchange call("GET", "b=2&a=1");
    EXPECT_TRUE(hello->service(call.request, call.response).ok());
    EXPECT_THAT(call.exchange.response.body(), StartsWith("libc++ "));
    EXPECT_THAT(call.exchange.response.body(), HasSubstr(" servlet hello a=1 b=2"));

    auto failing = app.servlet("libcxx.Fail", "fail");
    Exchange next;
    core::ServiceStatus status = failing->service(next.request, next.response);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.reason(), "app \"shop\" servlet \"fail\": libc++ exception");
}

} // namespace
