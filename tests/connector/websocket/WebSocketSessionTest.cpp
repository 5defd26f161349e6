// WebSocket sessions over real sockets: the Connector, a 101 from the handshake, then frames
// byte for byte from a raw client (hostile ones included).
#include "connector/websocket/PerMessageDeflate.h"
#include "connector/websocket/WebSocketClient.h"
#include "connector/websocket/WebSocketTestServer.h"
#include "support/ServalProcess.h"

#include <gtest/gtest.h>
#include <thread>

namespace serval::test {
namespace {

using namespace std::chrono_literals;

class WebSocketDispatchTest : public ::testing::TestWithParam<bool>
{
protected:
    std::string extra() const { return GetParam() ? "X-Dispatch: worker\r\n" : ""; }
};

TEST_P(WebSocketDispatchTest, EchoesTextAndBinary)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/echo", extra()));
    EXPECT_EQ(c.reply->header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_EQ(c.reply->header("Upgrade"), "websocket");
    ASSERT_TRUE(c.sendText("hello"));
    auto f = c.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x1);
    EXPECT_TRUE(f->fin);
    EXPECT_EQ(f->payload, "hello");
    std::string big(100000, 'x');
    ASSERT_TRUE(c.send(clientFrame(0x2, big)));
    f = c.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x2);
    EXPECT_EQ(f->payload, big);
    EXPECT_EQ(server.handler.record->opened.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(InlineAndWorker, WebSocketDispatchTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                             return info.param ? "Worker" : "Inline";
                         });

TEST(WebSocketSessionTest, FragmentsAreAssembledAndPingsAnsweredInBetween)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/echo"));
    ASSERT_TRUE(c.send(clientFrame(0x1, "frag", false) + clientFrame(0x9, "are you there") +
                       clientFrame(0x0, "men", false) + clientFrame(0x0, "ted", true)));
    auto pong = c.read();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->opcode, 0xA);
    EXPECT_EQ(pong->payload, "are you there");
    auto f = c.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "fragmented");
}

/// Sends `wire` on a fresh connection to `path`; expects a close frame with `code`, then EOF.
void expectFailure(const std::string& path, const std::string& wire, uint16_t code)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), path));
    ASSERT_TRUE(c.send(wire));
    auto f = c.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x8);
    EXPECT_EQ(f->closeCode(), code);
    EXPECT_TRUE(c.connection.waitClosed());
    EXPECT_TRUE(eventually([&] { return server.handler.record->closed.load() == 1; }, 5s));
    EXPECT_EQ(server.handler.record->lastErrorCode.load(), code);
    EXPECT_EQ(server.handler.record->lastCloseCode.load(), code);
}

TEST(WebSocketSessionTest, HostileUnmaskedFrameGets1002)
{
    ClientFrame f;
    f.payload = "sneaky";
    f.masked = false;
    expectFailure("/ws/echo", encodeClientFrame(f), 1002);
}

TEST(WebSocketSessionTest, HostileFragmentedControlFrameGets1002)
{
    expectFailure("/ws/echo", clientFrame(0x9, "half", false), 1002);
}

TEST(WebSocketSessionTest, HostileHugeLengthGets1009WithoutBuffering)
{
    ClientFrame f;
    f.opcode = 0x2;
    f.claimedLength = uint64_t{1} << 40;
    f.payload = "only a little";
    expectFailure("/ws/echo", encodeClientFrame(f), 1009);
}

TEST(WebSocketSessionTest, HostileInvalidUtf8AcrossFragmentsGets1007)
{
    // The first fragment ends inside a valid sequence; the second breaks it.
    expectFailure("/ws/echo", clientFrame(0x1, "ok \xce", false) + clientFrame(0x0, "\xff", true), 1007);
}

TEST(WebSocketSessionTest, ContinuationWithoutAMessageGets1002)
{
    expectFailure("/ws/echo", clientFrame(0x0, "orphan"), 1002);
}

TEST(WebSocketSessionTest, MessageOverTheLimitGets1009)
{
    expectFailure("/ws/small", clientFrame(0x1, "a", false) + clientFrame(0x0, std::string(1100, 'b')), 1009);
}

TEST(WebSocketSessionTest, UnfinishedMessagesTogetherStayWithinTheirBudgetAndTheRestGet1013)
{
    // maxMessageSize bounds one message; the budget bounds all those being assembled: a client
    // that starts one message and never finishes holds its share, and the message that would
    // pass the budget is refused with 1013 (try again later), not buffered.
    WebSocketServer server;
    WebSocketClient holder, late, after;
    ASSERT_TRUE(holder.open(server.port(), "/ws/budgeted"));
    ASSERT_TRUE(holder.send(clientFrame(0x1, std::string(60 * 1024, 'h'), false))); // 60 KiB held
    ASSERT_TRUE(holder.send(clientFrame(0x9, "sync")));                             // a ping behind it:
    auto pong = holder.read(); // once it is answered, the server holds the 60 KiB
    ASSERT_TRUE(pong);
    ASSERT_EQ(pong->opcode, 0xA);
    ASSERT_TRUE(late.open(server.port(), "/ws/budgeted"));
    ASSERT_TRUE(late.send(clientFrame(0x1, std::string(60 * 1024, 'l'))));
    auto refused = late.read();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->opcode, 8);
    EXPECT_EQ(refused->closeCode(), 1013);

    ASSERT_TRUE(holder.send(clientFrame(0x0, "!"))); // finished: echoed, its share returns
    auto echo = holder.read();
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->payload.size(), 60 * 1024 + 1);
    ASSERT_TRUE(after.open(server.port(), "/ws/budgeted"));
    ASSERT_TRUE(after.send(clientFrame(0x1, std::string(60 * 1024, 'a'))));
    echo = after.read();
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->payload.size(), 60 * 1024u);
}

TEST(WebSocketSessionTest, InvalidCloseCodeGets1002)
{
    expectFailure("/ws/echo", clientFrame(0x8, closeBody(1005)), 1002);
}

TEST(WebSocketSessionTest, HostileCompressionBombGets1009AndBoundedMemory)
{
    // 64 MiB of zeros, about 64 KiB compressed, to an endpoint that takes 1 KiB messages.
    websocket::Deflater deflater(15, 8, false);
    std::string compressed;
    ASSERT_TRUE(deflater.compress(std::string(64 * 1024 * 1024, '\0'), compressed));
    ClientFrame f;
    f.opcode = 0x2;
    f.rsv1 = true;
    f.payload = compressed.substr(0, 1000); // within the frame limit: the bomb is in the inflation
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/small", "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
    EXPECT_EQ(c.reply->header("Sec-WebSocket-Extensions"), "permessage-deflate");
    ASSERT_TRUE(c.send(encodeClientFrame(f)));
    auto frame = c.read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->closeCode(), 1009);
    EXPECT_TRUE(c.connection.waitClosed());
    EXPECT_LE(server.handler.record->biggestPiece.load(), 1024u);
}

TEST(WebSocketSessionTest, ClientCloseIsEchoedAndTheServerClosesTcp)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/echo"));
    ASSERT_TRUE(c.send(clientFrame(0x8, closeBody(1000, "done"))));
    auto f = c.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x8);
    EXPECT_EQ(f->closeCode(), 1000);
    EXPECT_TRUE(c.connection.waitClosed());
    EXPECT_TRUE(eventually([&] { return server.handler.record->closed.load() == 1; }, 5s));
    EXPECT_EQ(server.handler.record->lastCloseCode.load(), 1000);
    EXPECT_EQ(server.handler.record->errors.load(), 0);
}

TEST(WebSocketSessionTest, ServerCloseFromAnotherThreadWaitsForTheClientsClose)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/echo"));
    ASSERT_TRUE(eventually([&] { return server.handler.record->socket(0) != nullptr; }, 5s));
    auto socket = server.handler.record->socket(0);
    std::thread([socket] { EXPECT_TRUE(socket->close(4000, "maintenance")); }).join();
    EXPECT_FALSE(socket->isOpen());
    EXPECT_EQ(socket->sendText("late"), http::WriteStatus::Dropped);
    auto f = c.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->closeCode(), 4000);
    EXPECT_EQ(f->payload.substr(2), "maintenance");
    ASSERT_TRUE(c.send(clientFrame(0x8, closeBody(4000))));
    EXPECT_TRUE(c.connection.waitClosed());
    EXPECT_TRUE(eventually([&] { return server.handler.record->closed.load() == 1; }, 5s));
}

TEST(WebSocketSessionTest, SendsFromOtherThreadsArriveInOrder)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/echo"));
    ASSERT_TRUE(eventually([&] { return server.handler.record->socket(0) != nullptr; }, 5s));
    auto socket = server.handler.record->socket(0);
    std::thread([socket] {
        for (int i = 0; i < 200; ++i)
            EXPECT_NE(socket->sendText("m" + std::to_string(i)), http::WriteStatus::Dropped);
    }).join();
    for (int i = 0; i < 200; ++i) {
        auto f = c.read();
        ASSERT_TRUE(f);
        ASSERT_EQ(f->payload, "m" + std::to_string(i));
    }
}

TEST(WebSocketSessionTest, ASlowReaderGetsBackpressureThenDroppedNeverUnboundedMemory)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/echo"));
    ASSERT_TRUE(c.sendText("flood")); // and never read
    auto record = server.handler.record;
    ASSERT_TRUE(eventually(
        [&] {
            std::lock_guard<std::mutex> lock(record->mutex);
            return !record->floodStatuses.empty() &&
                   record->floodStatuses.back() == http::WriteStatus::Dropped;
        },
        10s));
    {
        std::lock_guard<std::mutex> lock(record->mutex);
        auto& s = record->floodStatuses;
        EXPECT_NE(std::find(s.begin(), s.end(), http::WriteStatus::Backpressure), s.end());
        EXPECT_LT(s.size(), 200u); // the kernel's buffers plus 1 MiB, in 64 KiB messages
    }
    EXPECT_LE(record->maxBuffered.load(), websocket::WebSocketConfig{}.maxBackpressure);
    // Reading drains the queue: the endpoint hears onWritable.
    size_t got = 0;
    while (record->writables.load() == 0 && got < 1000) {
        auto f = c.read();
        ASSERT_TRUE(f);
        ++got;
    }
    EXPECT_GE(record->writables.load(), 1);
}

TEST(WebSocketSessionTest, IdleTimeoutCloses1001)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/idle"));
    auto f = c.read(10s);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x8);
    EXPECT_EQ(f->closeCode(), 1001);
    ASSERT_TRUE(c.send(clientFrame(0x8, closeBody(1001))));
    EXPECT_TRUE(c.connection.waitClosed());
}

TEST(WebSocketSessionTest, KeepAlivePingGetsAPongBack)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/ping"));
    auto f = c.read(10s);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x9);
    ASSERT_TRUE(c.send(clientFrame(0xA, f->payload)));
    EXPECT_TRUE(eventually([&] { return server.handler.record->pongs.load() == 1; }, 5s));
}

TEST(WebSocketSessionTest, PartialDeliveryStreamsABigMessageInBoundedPieces)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/partial"));
    std::string big(3 * 1024 * 1024, 'p');
    ASSERT_TRUE(c.send(clientFrame(0x2, big)));
    auto f = c.read(10s);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload.size(), big.size());
    EXPECT_LE(server.handler.record->biggestPiece.load(), 64u * 1024);
}

TEST(WebSocketSessionTest, CompressedMessagesRoundTrip)
{
    WebSocketServer server;
    WebSocketClient c;
    ASSERT_TRUE(c.open(server.port(), "/ws/echo",
                       "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"));
    EXPECT_EQ(c.reply->header("Sec-WebSocket-Extensions"), "permessage-deflate; client_no_context_takeover");
    websocket::Deflater deflater(15, 8, true);
    websocket::Inflater inflater(false);
    for (int i = 0; i < 3; ++i) {
        std::string message(1000, static_cast<char>('a' + i));
        std::string compressed;
        ASSERT_TRUE(deflater.compress(message, compressed));
        ClientFrame f;
        f.opcode = 0x1;
        f.rsv1 = true;
        f.payload = compressed;
        ASSERT_TRUE(c.send(encodeClientFrame(f)));
        auto reply = c.read();
        ASSERT_TRUE(reply);
        EXPECT_TRUE(reply->rsv1);
        struct Collect : websocket::Inflater::Sink
        {
            std::string out;
            websocket::Failure onInflated(std::string_view b) noexcept override
            {
                out.append(b);
                return {};
            }
        } sink;
        ASSERT_FALSE(inflater.feed(reply->payload, sink));
        ASSERT_FALSE(inflater.finish(sink));
        EXPECT_EQ(sink.out, message);
    }
}

TEST(WebSocketSessionTest, HandshakeRefusalsOverTheWire)
{
    WebSocketServer server;
    {
        RawConnection c;
        ASSERT_TRUE(c.connect("127.0.0.1", server.port()));
        std::string request = handshakeRequest("/ws/echo");
        request.replace(request.find("Version: 13"), 11, "Version: 8");
        ASSERT_TRUE(c.send(request));
        auto reply = c.readResponse();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->status, 426);
        EXPECT_EQ(reply->header("Sec-WebSocket-Version"), "13");
    }
    {
        WebSocketClient c;
        EXPECT_FALSE(c.open(server.port(), "/ws/origin", "Origin: https://evil.example\r\n"));
        ASSERT_TRUE(c.reply);
        EXPECT_EQ(c.reply->status, 403);
    }
    {
        WebSocketClient c;
        EXPECT_TRUE(c.open(server.port(), "/ws/origin", "Origin: https://ok.example\r\n"));
    }
    {
        WebSocketClient c;
        EXPECT_TRUE(c.open(server.port(), "/ws/proto", "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n"));
        EXPECT_EQ(c.reply->header("Sec-WebSocket-Protocol"), "chat.v2");
    }
    EXPECT_TRUE(eventually([&] { return server.handler.record->opened.load() == 2; }, 5s));
}

} // namespace
} // namespace serval::test
