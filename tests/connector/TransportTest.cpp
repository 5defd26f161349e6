// The Transport seam: a Connector with a transport factory moves every byte (reads, writes,
// sendfile) through the installed Transport, as a TLS transport will.
#include "connector/TestServer.h"
#include "support/ServalProcess.h"

#include <algorithm>
#include <atomic>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace serval::test {
namespace {

using namespace std::chrono_literals;

constexpr char kKey = 0x5a;

void scramble(char* data, size_t size)
{
    for (size_t i = 0; i < size; ++i)
        data[i] ^= kKey;
}

std::string scrambled(std::string text)
{
    scramble(text.data(), text.size());
    return text;
}

/// XORs every byte both ways: a stand-in for an encrypting transport. sendFile() cannot hand
/// the file to the kernel as it is, so it reads and writes, as TLS without kTLS will.
class XorTransport final : public connector::Transport
{
public:
    XorTransport(int fd, std::atomic<uint64_t>& bytes) : _fd(fd), _bytes(bytes) {}
    ssize_t read(char* buffer, size_t size) noexcept override
    {
        ssize_t n = ::recv(_fd, buffer, size, 0);
        if (n > 0) scramble(buffer, static_cast<size_t>(n));
        return n;
    }
    ssize_t write(const iovec* buffers, int count, bool) noexcept override
    {
        std::string out;
        for (int i = 0; i < count; ++i)
            out.append(static_cast<const char*>(buffers[i].iov_base), buffers[i].iov_len);
        return sendScrambled(out);
    }
    ssize_t sendFile(int fileFd, off_t* offset, size_t count) noexcept override
    {
        std::string chunk(std::min<size_t>(count, 65536), '\0');
        ssize_t n = ::pread(fileFd, chunk.data(), chunk.size(), *offset);
        if (n <= 0) return n;
        chunk.resize(static_cast<size_t>(n));
        ssize_t sent = sendScrambled(chunk);
        if (sent > 0) *offset += sent;
        return sent;
    }
    void shutdownWrite() noexcept override { ::shutdown(_fd, SHUT_WR); }
    bool hasBufferedInput() const noexcept override { return false; }

private:
    ssize_t sendScrambled(std::string& out)
    {
        scramble(out.data(), out.size());
        ssize_t n = ::send(_fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n > 0) _bytes += static_cast<uint64_t>(n);
        return n;
    }
    int _fd;
    std::atomic<uint64_t>& _bytes;
};

/// A Server whose connections use XorTransport.
struct XorServer
{
    XorServer()
    {
        handler.filePath = dir.file("data.bin");
        connector = std::make_unique<connector::Connector>(testConfig(), handler);
        connector->setTransportFactory(
            [this](int fd) { return std::make_unique<XorTransport>(fd, bytesOut); });
        connector->start();
    }
    TempDir dir;
    TestHandler handler;
    std::atomic<uint64_t> bytesOut{0};
    std::unique_ptr<connector::Connector> connector;
};

/// Sends `request` scrambled on a fresh connection and returns everything until close, unscrambled.
std::string exchangeScrambled(uint16_t port, const std::string& request)
{
    RawConnection c;
    EXPECT_TRUE(c.connect("127.0.0.1", port));
    EXPECT_TRUE(c.send(scrambled(request)));
    return scrambled(c.readUntilClose(5s));
}

TEST(TransportTest, EveryByteGoesThroughTheInstalledTransport)
{
    XorServer server;
    std::string reply =
        exchangeScrambled(server.connector->boundPort(), get("/one") + get("/two", "X-Dispatch: worker\r\n") +
                                                             get("/three", "Connection: close\r\n"));
    EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
    for (const char* target : {"GET /one\n", "GET /two\n", "GET /three\n"})
        EXPECT_NE(reply.find(target), std::string::npos) << target;
    EXPECT_EQ(server.bytesOut.load(), reply.size());
}

TEST(TransportTest, FileBodiesGoThroughTheTransportToo)
{
    XorServer server;
    std::string content(200000, '\0');
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>(i * 13);
    server.dir.write("data.bin", content);
    std::string reply =
        exchangeScrambled(server.connector->boundPort(), get("/file", "Connection: close\r\n"));
    size_t end = reply.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    EXPECT_NE(reply.find("Content-Length: 200000\r\n"), std::string::npos);
    EXPECT_TRUE(reply.substr(end + 4) == content);
}

TEST(TransportTest, PlainConnectorsAreUnaffected)
{
    Server server;
    EXPECT_EQ(httpGet(server.port(), "/x").status, 200);
}

} // namespace
} // namespace serval::test
