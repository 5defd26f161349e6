// Session-ticket key rotation on a TlsContext, driven directly (no clock, no sleeps): a ticket
// resumes under the current key and after one rotation (the previous key still decrypts it),
// and gets a full handshake after two. A real OpenSSL client over a socketpair, the server side
// the TlsTransport the Connector would use.
#include "connector/tls/TlsContext.h"
#include "support/TempDir.h"
#include "support/TestCertificates.h"

#include <csignal>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using serval::connector::tls::TlsContext;
using serval::test::TempDir;
using serval::test::TestCa;

namespace {

class TlsTicketKeyTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        std::signal(SIGPIPE, SIG_IGN); // a write after the peer left fails, as in the Connector
        _dir.write("certs/.keep", "");
        TestCa ca(_dir.file("certs"));
        auto leaf = ca.issue("leaf", "localhost", {"localhost"});
        serval::config::CertificateConfig config;
        config.certificateFile = leaf.certificateFile;
        config.keyFile = leaf.keyFile;
        config.where = "test";
        auto context = TlsContext::create({config});
        ASSERT_TRUE(context) << context.error();
        _server = std::move(*context);
        _client = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(_client, _version);
        SSL_CTX_set_max_proto_version(_client, _version);
    }

    void TearDown() override
    {
        SSL_SESSION_free(_session);
        SSL_CTX_free(_client);
    }

    /// One connection: handshake (offering the ticket from the last one), "ping" / "pong" so
    /// the client has read the server's new tickets. Returns whether the session was resumed.
    bool connectOnce()
    {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        std::thread server([&] {
            auto transport = _server->newTransport(fds[0]);
            char buffer[16];
            ssize_t n = 0;
            while ((n = transport->read(buffer, sizeof buffer)) < 0 && errno == EAGAIN) {
            }
            if (n > 0) {
                iovec pong{const_cast<char*>("pong"), 4};
                transport->write(&pong, 1, false);
            }
        });
        SSL* ssl = SSL_new(_client);
        SSL_set_fd(ssl, fds[1]);
        if (_session != nullptr) SSL_set_session(ssl, _session);
        bool resumed = false;
        char reply[8] = {};
        if (SSL_connect(ssl) == 1 && SSL_write(ssl, "ping", 4) == 4 &&
            SSL_read(ssl, reply, sizeof reply) == 4) {
            resumed = SSL_session_reused(ssl) == 1;
            SSL_SESSION_free(_session);
            _session = SSL_get1_session(ssl);
            SSL_shutdown(ssl); // without close_notify OpenSSL marks the session not resumable
        }
        ::shutdown(fds[1], SHUT_RDWR);
        server.join();
        SSL_free(ssl);
        ::close(fds[0]);
        ::close(fds[1]);
        EXPECT_STREQ(reply, "pong");
        return resumed;
    }

    int _version = TLS1_3_VERSION;
    TempDir _dir;
    std::shared_ptr<TlsContext> _server;
    SSL_CTX* _client = nullptr;
    SSL_SESSION* _session = nullptr;
};

TEST_F(TlsTicketKeyTest, ATicketResumesAcrossOneRotationButNotTwo)
{
    EXPECT_FALSE(connectOnce()); // the first connection: a full handshake, a ticket
    EXPECT_TRUE(connectOnce());  // resumed under the current key; a new ticket under it
    SSL_SESSION* issuedBeforeRotations = SSL_SESSION_dup(_session);

    _server->rotateTicketKeys();
    EXPECT_TRUE(connectOnce()) << "the previous key still decrypts for one period";
    // The resumption renewed the ticket under the new key: it survives the next rotation.
    _server->rotateTicketKeys();
    EXPECT_TRUE(connectOnce());

    // A ticket older than two rotations: its key is gone, so a full handshake.
    SSL_SESSION_free(_session);
    _session = issuedBeforeRotations;
    EXPECT_FALSE(connectOnce());
}

TEST_F(TlsTicketKeyTest, RotationIsDueAfterTheInterval)
{
    using namespace std::chrono;
    _server->setTicketKeyRotation(hours(12));
    const auto now = steady_clock::now();
    EXPECT_GT(_server->rotateTicketKeysIfDue(now), hours(11)); // just made: not due
    EXPECT_TRUE(connectOnce() == false);
    EXPECT_TRUE(connectOnce());
    SSL_SESSION* old = SSL_SESSION_dup(_session);
    EXPECT_EQ(_server->rotateTicketKeysIfDue(now + hours(13)), hours(12)); // rotated once
    _server->rotateTicketKeysIfDue(steady_clock::now() + hours(26));       // and again
    SSL_SESSION_free(_session);
    _session = old;
    EXPECT_FALSE(connectOnce());
}

class TlsTicketKeyTls12Test : public TlsTicketKeyTest
{
protected:
    TlsTicketKeyTls12Test() { _version = TLS1_2_VERSION; }
};

TEST_F(TlsTicketKeyTls12Test, Tls12TicketsResumeAcrossOneRotation)
{
    EXPECT_FALSE(connectOnce());
    EXPECT_TRUE(connectOnce());
    _server->rotateTicketKeys();
    EXPECT_TRUE(connectOnce());
}

} // namespace
