#pragma once

#include "config/ConnectorConfig.h"
#include "connector/Transport.h"
#include "util/Expected.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_mac_ctx_st EVP_MAC_CTX;

namespace serval::connector::tls {

/// What the admin page and /metrics show about one <Certificate>.
struct CertificateInfo
{
    std::string where;                        ///< "conf/server.xml:12"
    std::string certificateFile;              ///< as configured
    std::vector<std::string> hostNames;       ///< the SNI names it answers for; empty = the default
    std::string subject;                      ///< "CN=example.com,O=..." (RFC 2253)
    std::vector<std::string> subjectAltNames; ///< DNS names
    std::string keyType;                      ///< "RSA 2048", "EC P-256"
    int64_t notAfter = 0;                     ///< Unix seconds
    std::string lastError;      ///< why the last reload was refused (the old pair still serves); "" = none
    std::string ocspStaple;     ///< the configured staple file; "" = none
    int64_t ocspNextUpdate = 0; ///< the served staple's nextUpdate (Unix seconds); 0 = none served
};

/// The TLS side of one <Connector>: the server's protocol settings and the certificates SNI
/// chooses from, as OpenSSL contexts.
///
/// Defaults (not configurable, issue 16): TLS 1.2 and 1.3 only; for 1.2 only ECDHE with AES-GCM
/// or ChaCha20-Poly1305 (AEAD, forward secret), the server's order first; 1.3's suites are all
/// AEAD; no renegotiation, no compression; a server-side session cache and session tickets.
///
/// One "base" SSL_CTX holds those settings and the session cache and ticket keys and never
/// changes; each group of <Certificate>s with the same host names is a "site" with its own
/// SSL_CTX holding its pairs (an RSA and an ECDSA pair side by side: OpenSSL picks by what the
/// client supports). The server-name callback switches each handshake to its site's context
/// (exact name, then "*.rest" for one leading label, then the default site), so sessions
/// survive a certificate reload.
///
/// OWNERSHIP: shared by the Connector's transport factory (startup makes it); every live SSL
/// holds a reference to the site context it uses, so swapping a site's context on reload
/// never frees one in use.
/// THREADS: built on the control thread; newTransport() and the handshake callback on any loop
/// or worker thread; reload()/certificates() on any thread (a mutex per site).
class TlsContext
{
public:
    /// The aliases of a <Host> named `hostName` (none if it names no Host): the lookup startup
    /// gives, so a certificate for a Host also answers for its aliases.
    using HostAliases = std::function<std::vector<std::string>(const std::string& hostName)>;

    /// Loads and checks every certificate (see loadSite()). Fails with one line naming the
    /// <Certificate> (file:line), the file and the reason.
    static util::Expected<std::shared_ptr<TlsContext>>
    create(const std::vector<config::CertificateConfig>& certificates, const HostAliases& aliases = {});
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    /// Loop thread (the Connector's transport factory): a TlsTransport for an accepted socket.
    /// Never null: if OpenSSL cannot make a session, the transport fails every call.
    std::unique_ptr<Transport> newTransport(int fd) const;
    /// Control thread, before the loops start: ALPN offers h2 besides http/1.1 (issue 16;
    /// ConnectorConfig::http2). Off: ALPN answers http/1.1 only.
    void setOfferHttp2(bool offer) noexcept { _offerHttp2 = offer; }

    /// Every <Certificate>, site by site (a site: the <Certificate>s with the same host names).
    std::vector<CertificateInfo> certificates() const;

    /// Re-reads every site whose files changed (inode, size or mtime) since they were last
    /// read. A site whose pairs load and check (see create()) gets its new context for the
    /// handshakes from now on; established connections keep theirs. A site that fails keeps
    /// serving its old pairs, says why in one warning and in CertificateInfo::lastError, and
    /// is not retried until its files change again. Returns the sites replaced.
    /// THREADS: any thread (the Connector's certificate watcher); one reload at a time.
    unsigned reloadChanged();

    /// The site context a handshake for `serverName` gets ("" = no SNI); for tests.
    SSL_CTX* contextFor(const std::string& serverName) const;

    /// Session tickets (RFC 5077, TLS 1.3 PSK tickets): create() draws a key (getrandom); every
    /// `interval` (ConnectorConfig::ticketKeyRotationIntervalMs) rotateTicketKeysIfDue() makes
    /// a new one current and keeps the one before for decryption only (a ticket under it is
    /// accepted and replaced by a new one); the key before that is wiped, so its tickets get a
    /// full handshake. THREADS: control thread before start.
    void setTicketKeyRotation(std::chrono::milliseconds interval) noexcept { _ticketInterval = interval; }
    /// The Connector's watcher thread: rotates when the interval has passed since the last
    /// rotation; returns how long until the next one is due.
    std::chrono::milliseconds rotateTicketKeysIfDue(std::chrono::steady_clock::time_point now);
    /// Any thread: rotate now (rotateTicketKeysIfDue() and tests, which drive the schedule).
    void rotateTicketKeys();

private:
    struct Site;
    TlsContext();
    static int onServerName(SSL* ssl, int* alert, void* arg) noexcept;
    static int onTicketKey(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                           EVP_MAC_CTX* mac, int encrypt) noexcept;

    /// One session-ticket key: its name (sent in the clear in each ticket), AES-256-CBC and
    /// HMAC-SHA256 keys, as RFC 5077 4 suggests.
    struct TicketKey
    {
        std::array<unsigned char, 16> name{};
        std::array<unsigned char, 32> aes{};
        std::array<unsigned char, 32> hmac{};
    };
    const Site& siteFor(const char* serverName) const noexcept;

    std::mutex _reloadMutex; ///< one reloadChanged() at a time
    SSL_CTX* _base = nullptr;
    bool _offerHttp2 = false;
    std::vector<std::unique_ptr<Site>> _sites;
    std::unordered_map<std::string, size_t> _exact;    ///< lower-case name -> site
    std::unordered_map<std::string, size_t> _wildcard; ///< "example.com" for "*.example.com"
    size_t _defaultSite = 0;

    mutable std::mutex _ticketMutex;      ///< guards the three below (handshakes on every loop)
    std::array<TicketKey, 2> _ticketKeys; ///< [0] encrypts and decrypts, [1] decrypts only
    bool _hasPreviousKey = false;
    std::chrono::steady_clock::time_point _lastRotation;
    std::chrono::milliseconds _ticketInterval{12 * 3600 * 1000};
};

} // namespace serval::connector::tls
