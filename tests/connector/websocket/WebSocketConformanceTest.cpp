// The conformance harness (conformance.py: Autobahn|Testsuite's case groups rebuilt with raw
// sockets and python3-websockets) against the WebSocket endpoints of WebSocketTestServer.h,
// one test per group so the names are the checklist.
#include "connector/websocket/WebSocketTestServer.h"

#include <cstdio>
#include <cstdlib>
#include <gtest/gtest.h>
#include <sys/wait.h>

namespace serval::test {
namespace {

struct Group
{
    const char* id;   ///< conformance.py --group
    const char* name; ///< the test's name
};

void PrintTo(const Group& group, std::ostream* out)
{
    *out << group.name;
}

class WebSocketConformanceTest : public ::testing::TestWithParam<Group>
{
};

TEST_P(WebSocketConformanceTest, CasesPass)
{
    const char* source = std::getenv("SERVAL_SOURCE");
    ASSERT_NE(source, nullptr) << "run through ctest (SERVAL_SOURCE names the source tree)";
    WebSocketServer server;
    std::string command = std::string("/usr/bin/python3 ") + source +
                          "/tests/connector/websocket/conformance.py --port " +
                          std::to_string(server.port()) + " --group " + GetParam().id + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe))
        output.append(buffer, n);
    int status = pclose(pipe);
    ASSERT_TRUE(WIFEXITED(status)) << output;
    EXPECT_EQ(WEXITSTATUS(status), 0) << output;
    EXPECT_NE(output.find("cases ok"), std::string::npos) << output;
}

INSTANTIATE_TEST_SUITE_P(Autobahn, WebSocketConformanceTest,
                         ::testing::Values(Group{"1", "Group1_Framing"}, Group{"2", "Group2_PingPong"},
                                           Group{"3", "Group3_ReservedBits"}, Group{"4", "Group4_Opcodes"},
                                           Group{"5", "Group5_Fragmentation"}, Group{"6", "Group6_Utf8"},
                                           Group{"7", "Group7_Close"}, Group{"9", "Group9_Limits"},
                                           Group{"12", "Group12_DeflateMessages"},
                                           Group{"13", "Group13_DeflateParameters"},
                                           Group{"hostile", "HostileClients"}),
                         [](const ::testing::TestParamInfo<Group>& info) { return info.param.name; });

} // namespace
} // namespace serval::test
