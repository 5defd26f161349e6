#include "valves/AccessLog.h"

#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <thread>
#include <vector>

using serval::valves::AccessLog;

namespace {

// 2026-11-25T20:55:01Z
constexpr std::time_t kWhen = 1795640101;

serval::http::HttpExchange exchangeFor(const std::string& method, const std::string& target, int status,
                                       uint64_t bodyLength)
{
    serval::http::HttpExchange exchange;
    exchange.request.method = method;
    exchange.request.target = target;
    exchange.request.path = target.substr(0, target.find('?'));
    exchange.request.remoteAddress = "127.0.0.1";
    exchange.response.setStatus(status);
    exchange.response.body().assign(bodyLength, 'x');
    return exchange;
}

std::string format(const serval::http::HttpExchange& exchange, uint64_t bytesSent)
{
    std::string line;
    AccessLog::formatLine(line, exchange, bytesSent, kWhen);
    return line;
}

} // namespace

TEST(AccessLogTest, FormatsCombinedLogFormat)
{
    auto exchange = exchangeFor("GET", "/x?a=1", 200, 4096);
    exchange.request.headers.push_back({"Referer", "http://example.com/"});
    exchange.request.headers.push_back({"User-Agent", "curl/8.0"});
    EXPECT_EQ(format(exchange, 4096 + 150),
              "127.0.0.1 - - [25/Nov/2026:20:55:01 +0000] \"GET /x?a=1 HTTP/1.1\" 200 4096 "
              "\"http://example.com/\" \"curl/8.0\"\n");
}

TEST(AccessLogTest, AbsentFieldsAreDashes)
{
    auto exchange = exchangeFor("HEAD", "/", 200, 0);
    exchange.request.versionMinor = 0;
    exchange.response.setContentLength(500);
    EXPECT_EQ(format(exchange, 120),
              "127.0.0.1 - - [25/Nov/2026:20:55:01 +0000] \"HEAD / HTTP/1.0\" 200 - \"-\" \"-\"\n");
    auto notModified = exchangeFor("GET", "/a", 304, 0);
    EXPECT_NE(format(notModified, 100).find("\" 304 - "), std::string::npos);
    serval::http::HttpExchange rejected; // a request that never parsed
    rejected.response.setStatus(400);
    EXPECT_NE(format(rejected, 100).find("- - - [25/Nov/2026:20:55:01 +0000] \"-\" 400"), std::string::npos);
}

TEST(AccessLogTest, BodyBytesAreCappedAtWhatWasSent)
{
    auto exchange = exchangeFor("GET", "/big", 200, 0);
    exchange.response.setContentLength(1000000);
    EXPECT_NE(format(exchange, 5000).find("\" 200 5000 "), std::string::npos);
}

TEST(AccessLogTest, EscapesQuotesBackslashesAndControlCharacters)
{
    auto exchange = exchangeFor("GET", "/a\"b\\c", 404, 10);
    exchange.request.headers.push_back({"User-Agent", "evil\" \"injected\n127.0.0.1 - - fake"});
    exchange.request.headers.push_back({"Referer", std::string("r\x01\x7f\xc3\xa9", 5)});
    std::string line = format(exchange, 200);
    EXPECT_NE(line.find("\"GET /a\\\"b\\\\c HTTP/1.1\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"evil\\\" \\\"injected\\x0A127.0.0.1 - - fake\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"r\\x01\\x7F\\xC3\\xA9\""), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1); // exactly one line
}

TEST(AccessLogTest, FlushWritesBufferedLines)
{
    serval::test::TempDir dir;
    std::string path = dir.file("access.log");
    AccessLog log(path);
    ASSERT_TRUE(log.isOpen());
    auto exchange = exchangeFor("GET", "/one", 200, 3);
    log.log(exchange, 100);
    log.flush();
    std::string content = serval::test::readFile(path);
    EXPECT_NE(content.find("\"GET /one HTTP/1.1\" 200 3 \"-\" \"-\"\n"), std::string::npos);
}

TEST(AccessLogTest, DestructionFlushesAndManyThreadsKeepLinesWhole)
{
    serval::test::TempDir dir;
    std::string path = dir.file("access.log");
    constexpr int kThreads = 8;
    constexpr int kPerThread = 3000; // beyond one 32 KiB buffer per shard
    {
        AccessLog log(path);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&log, t] {
                auto exchange = exchangeFor("GET", "/t" + std::to_string(t), 200, 7);
                for (int i = 0; i < kPerThread; ++i)
                    log.log(exchange, 100);
            });
        }
        for (auto& thread : threads)
            thread.join();
    }
    std::string content = serval::test::readFile(path);
    size_t lines = 0;
    size_t start = 0;
    while (start < content.size()) {
        size_t end = content.find('\n', start);
        ASSERT_NE(end, std::string::npos);
        std::string line = content.substr(start, end - start);
        EXPECT_EQ(line.rfind("127.0.0.1 - - [", 0), 0u) << line;
        EXPECT_NE(line.find(" HTTP/1.1\" 200 7 \"-\" \"-\""), std::string::npos) << line;
        ++lines;
        start = end + 1;
    }
    EXPECT_EQ(lines, static_cast<size_t>(kThreads * kPerThread));
}

TEST(AccessLogTest, UnwritablePathDropsLinesWithoutFailing)
{
    AccessLog log("/nonexistent-dir/serval/access.log");
    EXPECT_FALSE(log.isOpen());
    auto exchange = exchangeFor("GET", "/", 200, 1);
    log.log(exchange, 10);
    log.flush();
}
