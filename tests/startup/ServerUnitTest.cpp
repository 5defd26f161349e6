// container/startup in process: the pieces of Server that need no running binary (the binary
// end to end: ServerTest.cpp).
#include "startup/Server.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>

using serval::startup::listeningUrl;
using serval::startup::Server;

TEST(ServerUnitTest, ListeningUrlBracketsIpv6)
{
    EXPECT_EQ(listeningUrl("127.0.0.1", 8080), "http://127.0.0.1:8080/");
    EXPECT_EQ(listeningUrl("0.0.0.0", 80), "http://0.0.0.0:80/");
    EXPECT_EQ(listeningUrl("::1", 8080), "http://[::1]:8080/");
    EXPECT_EQ(listeningUrl("::", 0), "http://[::]:0/");
    EXPECT_EQ(listeningUrl("127.0.0.1", 8443, true), "https://127.0.0.1:8443/");
}

TEST(ServerUnitTest, WithoutConfWebXmlTheDefaultsServeIndexHtml)
{
    serval::test::TempDir base;
    auto defaults = Server::readWebXmlDefaults(base.path());
    EXPECT_EQ(defaults.source, "conf/web.xml");
    EXPECT_EQ(defaults.welcomeFiles, std::vector<std::string>{"index.html"});
}

TEST(ServerUnitTest, ConfWebXmlErrorsNameFileAndLine)
{
    serval::test::TempDir base;
    base.write("conf/web.xml",
               "<web-app>\n\n<mime-mapping><extension>x</extension></mime-mapping></web-app>");
    try {
        Server::readWebXmlDefaults(base.path());
        FAIL() << "a <mime-mapping> without <mime-type> was accepted";
    } catch (const std::exception& e) {
        EXPECT_EQ(std::string(e.what()), "conf/web.xml:3: <mime-mapping> needs a <mime-type>");
    }
}
