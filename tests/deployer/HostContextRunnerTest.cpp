// HostContextRunner over a real core::Host (with core's test doubles for app code): the Context
// is built from the bundle's ContextName and the descriptor validation read, merged over
// conf/web.xml. Also the whole start-up path of exploded directories through the real
// HostDeployer (the coverage of core's former ExplodedDeployer).
#include "deployer/HostContextRunner.h"

#include "bundle/BundleValidator.h"
#include "core/Fakes.h"
#include "deployer/HostDeployer.h"
#include "registry/Registry.h"
#include "support/TempDir.h"

#include <climits>
#include <cstdlib>
#include <gtest/gtest.h>

using namespace serval;
using namespace std::chrono_literals;

namespace {

config::WebAppConfig defaults()
{
    config::WebAppConfig web;
    web.source = "conf/web.xml";
    web.welcomeFiles = {"index.html"};
    web.mimeMappings["txt"] = "text/plain";
    return web;
}

std::string realPath(const std::string& path)
{
    char resolved[PATH_MAX];
    return ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;
}

/// What the server does at start-up for `host`: its HostDeployer over a real registry deploys
/// what webapps/ holds (1234-byte body limit, core's test doubles for app code).
void deployAtStartUp(const test::TempDir& base, const std::shared_ptr<core::Host>& host)
{
    auto trace = std::make_shared<std::vector<std::string>>();
    deployer::HostContextRunner runner(host, test::fakeServices(trace), defaults(), 1234);
    registry::Registry registry(base.file("serval.db"));
    deployer::HostDeployerSettings settings;
    settings.appBase = base.file("webapps");
    settings.workDir = base.file("work/localhost");
    settings.stableFor = 0ms;
    deployer::HostDeployer deployer(settings, runner, registry);
    deployer.startup();
}

} // namespace

TEST(HostContextRunnerTest, SpecComesFromTheNameAndTheDescriptorValidationRead)
{
    test::TempDir tmp;
    tmp.write("shop/WEB-INF/web.xml", "<web-app><display-name>Shop</display-name>"
                                      "<welcome-file-list><welcome-file>home.html</welcome-file>"
                                      "</welcome-file-list></web-app>");
    auto report = bundle::BundleValidator::validate(tmp.file("shop"), "a#shop##3", true);
    ASSERT_TRUE(report) << report.error();
    auto name = bundle::ContextName::fromFileName("a#shop##3");
    ASSERT_TRUE(name);
    // The file changes after validation: the spec still holds what validation read.
    tmp.write("shop/WEB-INF/web.xml", "<html/>");

    core::ContextSpec spec = deployer::HostContextRunner::contextSpec(*name, tmp.file("shop/./WEB-INF/.."),
                                                                      report->descriptor, defaults(), 1234);
    EXPECT_EQ(spec.name, "a#shop");
    EXPECT_EQ(spec.path, "/a/shop");
    EXPECT_EQ(spec.version, "3");
    EXPECT_EQ(spec.docBase, realPath(tmp.file("shop")));
    EXPECT_EQ(spec.maxBodySize, 1234u);
    EXPECT_EQ(spec.webXml.displayName, "Shop");
    EXPECT_EQ(spec.webXml.welcomeFiles, (std::vector<std::string>{"home.html"})) << "the app's list wins";
    EXPECT_EQ(spec.webXml.mimeMappings.at("txt"), "text/plain") << "merged over conf/web.xml";
}

TEST(HostContextRunnerTest, ADirectoryWithoutDescriptorGetsTheDefaults)
{
    test::TempDir tmp;
    tmp.write("ROOT/index.html", "root");
    core::ContextSpec spec = deployer::HostContextRunner::contextSpec(
        *bundle::ContextName::fromFileName("ROOT"), tmp.file("ROOT"), std::nullopt, defaults(), 1);
    EXPECT_EQ(spec.name, "ROOT");
    EXPECT_EQ(spec.path, "");
    EXPECT_EQ(spec.webXml.source, "WEB-INF/web.xml");
    EXPECT_EQ(spec.webXml.welcomeFiles, (std::vector<std::string>{"index.html"}));
}

TEST(HostContextRunnerTest, DirectoriesInAppBaseBecomeContextsAtStartUp)
{
    test::TempDir base;
    base.write("webapps/ROOT/index.html", "root");
    base.write("webapps/docs/index.html", "docs");
    base.write("webapps/broken/WEB-INF/web.xml", "<web-app>\n<oops/></web-app>");
    base.write("webapps/notes.txt", "a file, not an app");
    base.write("webapps/.cache/x", "");
    test::makeDirs(base.file("work/localhost"));
    config::HostConfig hostConfig;
    hostConfig.appBase = base.file("webapps");
    auto host = std::make_shared<core::Host>(hostConfig);
    auto trace = std::make_shared<std::vector<std::string>>();
    deployer::HostContextRunner runner(host, test::fakeServices(trace), defaults(), 1234);
    registry::Registry registry(base.file("serval.db"));
    deployer::HostDeployerSettings settings;
    settings.appBase = base.file("webapps");
    settings.workDir = base.file("work/localhost");
    settings.stableFor = 0ms;
    deployer::HostDeployer deployer(settings, runner, registry);
    deployer.startup();

    auto contexts = host->contexts();
    ASSERT_EQ(contexts.size(), 2u);
    EXPECT_EQ(contexts[0]->path(), "");
    EXPECT_EQ(contexts[1]->path(), "/docs");
    EXPECT_EQ(contexts[1]->maxBodySize(), 1234u);
    EXPECT_EQ(contexts[1]->webXml().welcomeFiles, (std::vector<std::string>{"index.html"}));
    auto broken = registry.findDeployment("localhost", "/broken", "");
    ASSERT_TRUE(broken);
    EXPECT_EQ(broken->state, registry::DeploymentState::Failed);
    EXPECT_EQ(broken->failureReason.rfind("broken: WEB-INF/web.xml:2: ", 0), 0u) << broken->failureReason;
}

TEST(HostContextRunnerTest, ContextSettingsOfTheHostBoundTheAppsShareOfThePool)
{
    test::TempDir base;
    base.write("webapps/docs/index.html", "docs");
    base.write("webapps/blog/index.html", "blog");
    test::makeDirs(base.file("work/localhost"));
    config::HostConfig hostConfig;
    hostConfig.appBase = base.file("webapps");
    config::ContextConfig docs; // <Context path="/docs" maxThreads="3" maxQueue="7"/>
    docs.path = "/docs";
    docs.maxThreads = 3;
    docs.maxQueue = 7;
    hostConfig.contexts.push_back(docs);
    auto host = std::make_shared<core::Host>(hostConfig);
    deployAtStartUp(base, host);

    auto contexts = host->contexts();
    ASSERT_EQ(contexts.size(), 2u);
    const core::Context& blog = *contexts[0];
    const core::Context& bounded = *contexts[1];
    ASSERT_EQ(bounded.path(), "/docs");
    EXPECT_EQ(bounded.spec().maxThreads, 3u);
    EXPECT_EQ(bounded.ownLane().threads(), 3u);
    EXPECT_EQ(bounded.ownLane().maxQueue(), 7u);
    ASSERT_EQ(blog.path(), "/blog");
    EXPECT_EQ(blog.spec().maxThreads, 0u) << "half the pool, decided on the first request";
    EXPECT_EQ(blog.ownLane().maxQueue(), core::ContextLane::kUnboundedQueue) << "maxConnections bounds it";
}
