// A segfaulting servlet in an in-process app, against the real binary: the server log names the
// signal, the app, the request (its secrets redacted) and the faulting function before the
// process dies of that very signal (util/CrashHandler.h).
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <csignal>
#include <gtest/gtest.h>
#include <sys/resource.h>

using serval::test::ServalProcess;
using serval::test::TempDir;

namespace {

constexpr const char* kWebXml = R"(<web-app>
  <servlet><servlet-name>crash</servlet-name><servlet-class>misbehaving.Crash</servlet-class></servlet>
  <servlet-mapping><servlet-name>crash</servlet-name><url-pattern>/boom</url-pattern></servlet-mapping>
  <servlet><servlet-name>ok</servlet-name><servlet-class>misbehaving.Ok</servlet-class></servlet>
  <servlet-mapping><servlet-name>ok</servlet-name><url-pattern>/ok</url-pattern></servlet-mapping>
</web-app>
)";

} // namespace

TEST(CrashReportTest, ASegfaultingServletLeavesSignalAppRequestAndBacktraceInTheLog)
{
    // No core file from this test's deliberate crash (the limit is inherited by the child).
    rlimit noCore{0, 0};
    ASSERT_EQ(::setrlimit(RLIMIT_CORE, &noCore), 0);
    TempDir base;
    // In-process (isolation="none"): the server's own crash handler; isolated apps' crashes are
    // ProcessIsolationTest's.
    base.write("conf/server.xml", "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
                                  "  <Connector address=\"127.0.0.1\" port=\"0\" workerThreads=\"2\"/>\n"
                                  "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" "
                                  "appBase=\"webapps\" isolation=\"none\"/></Engine>\n"
                                  "</Server>\n");
    base.write("webapps/crash/WEB-INF/web.xml", kWebXml);
    base.write("webapps/crash/WEB-INF/lib/libcrash.so",
               serval::test::readFile(serval::test::fixtureLibrary("misbehaving")));
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();
    ASSERT_EQ(serval::test::httpGet(server.port(), "/crash/ok").body, "ok") << server.log();

    serval::test::HttpReply reply = serval::test::httpGet(server.port(), "/crash/boom?token=hunter2&page=1");
    EXPECT_EQ(reply.status, 0) << "the process died while serving it";
    ASSERT_TRUE(serval::test::eventually([&] { return !server.running(); })) << server.log();
    EXPECT_EQ(server.terminatingSignal(), SIGSEGV) << "it ends with the signal itself, not an exit";

    std::string log = serval::test::readFile(base.file("logs/serval.log"));
    EXPECT_NE(log.find("ERROR [crash] fatal signal SIGSEGV (invalid memory access), address not mapped, "
                       "fault address 0x10"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("[crash] app /crash: GET /crash/boom?token=REDACTED&page=1 HTTP/1.1"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("hunter2"), std::string::npos) << "secrets in the query are redacted";
    EXPECT_NE(log.find("libcrash.so+0x"), std::string::npos) << log;
    EXPECT_NE(log.find("crashHere"), std::string::npos) << "the fixture's function, from its symbol table\n"
                                                        << log;
    EXPECT_NE(log.find("the process ends with signal 11"), std::string::npos) << log;
}
