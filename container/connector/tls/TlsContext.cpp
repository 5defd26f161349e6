#include "connector/tls/TlsContext.h"

#include "connector/tls/TlsTransport.h"
#include "util/Log.h"
#include "util/Strings.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdexcept>
#include <sys/random.h>
#include <sys/stat.h>

namespace serval::connector::tls {
namespace {

struct X509Free
{
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct KeyFree
{
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct BioFree
{
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct CtxFree
{
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

constexpr unsigned char kSessionIdContext[] = "serval";

/// OpenSSL's first queued error as text (and the queue emptied), for one-line messages.
std::string sslError(const std::string& fallback)
{
    unsigned long code = ERR_peek_error();
    std::string text = fallback;
    if (code != 0) {
        const char* reason = ERR_reason_error_string(code);
        text = reason != nullptr ? reason : ("OpenSSL error " + std::to_string(code));
    }
    ERR_clear_error();
    return text;
}

/// A certificate/key pair as loaded from its files, checked, with what the admin page shows.
struct LoadedPair
{
    X509Ptr leaf;
    std::vector<X509Ptr> chain;
    KeyPtr key;
    CertificateInfo info;
    std::vector<unsigned char> staple; ///< DER OCSP response that checked; empty = none
};

util::Expected<std::vector<X509Ptr>> readCertificates(const std::string& file)
{
    BioPtr bio(BIO_new_file(file.c_str(), "r"));
    if (!bio) return util::failure("cannot read \"" + file + "\": " + sslError("no such file"));
    std::vector<X509Ptr> out;
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        out.emplace_back(x);
    ERR_clear_error(); // the end of the file reads as "no start line"
    if (out.empty()) return util::failure("\"" + file + "\" holds no PEM certificate");
    return out;
}

std::string nameText(const X509_NAME* name)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(std::max(length, 0L)));
}

int64_t unixTime(const ASN1_TIME* time)
{
    std::tm tm{};
    if (ASN1_TIME_to_tm(time, &tm) != 1) return 0;
    return static_cast<int64_t>(timegm(&tm));
}

/// "2026-12-31T23:59:59Z"
std::string isoTime(int64_t unixSeconds)
{
    std::time_t t = static_cast<std::time_t>(unixSeconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

void describe(const X509* leaf, const EVP_PKEY* key, CertificateInfo& info)
{
    info.subject = nameText(X509_get_subject_name(leaf));
    info.notAfter = unixTime(X509_get0_notAfter(leaf));
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
    info.subjectAltNames.clear();
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_DNS) continue;
        const ASN1_IA5STRING* dns = name->d.dNSName;
        info.subjectAltNames.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                          static_cast<size_t>(ASN1_STRING_length(dns)));
    }
    GENERAL_NAMES_free(names);
    char group[64] = "";
    size_t groupLength = 0;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
        EVP_PKEY_get_group_name(key, group, sizeof group, &groupLength) == 1) {
        info.keyType = std::string("EC ") + group;
    } else {
        info.keyType = std::string(EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?") + " " +
                       std::to_string(EVP_PKEY_get_bits(key));
    }
}

/// Reads `pair`'s ocspStaple= file and keeps it in pair.staple when it is a successful OCSP
/// response saying "good" for this very certificate (serial and issuer), current now. Anything
/// else is not stapled (the certificate still serves): "" = stapled, else why not.
std::string loadStaple(const config::CertificateConfig& config, LoadedPair& pair)
{
    std::FILE* file = std::fopen(config.ocspStaple.c_str(), "rb");
    if (file == nullptr) return "cannot read \"" + config.ocspStaple + "\": " + std::strerror(errno);
    std::vector<unsigned char> der;
    unsigned char buffer[16384];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0 && der.size() < 1024 * 1024;)
        der.insert(der.end(), buffer, buffer + n);
    std::fclose(file);
    const unsigned char* p = der.data();
    std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> response(
        d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())), &OCSP_RESPONSE_free);
    if (!response) return "\"" + config.ocspStaple + "\" is not a DER OCSP response";
    if (OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        return "the OCSP response says " +
               std::string(OCSP_response_status_str(OCSP_response_status(response.get())));
    std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)> basic(
        OCSP_response_get1_basic(response.get()), &OCSP_BASICRESP_free);
    if (!basic) return "the OCSP response has no basic response";
    if (pair.chain.empty())
        return "stapling needs the issuer certificate (chainFile= or after the certificate)";
    std::unique_ptr<OCSP_CERTID, decltype(&OCSP_CERTID_free)> id(
        OCSP_cert_to_id(nullptr, pair.leaf.get(), pair.chain.front().get()), &OCSP_CERTID_free);
    int status = 0;
    int reason = 0;
    ASN1_GENERALIZEDTIME* revoked = nullptr;
    ASN1_GENERALIZEDTIME* thisUpdate = nullptr;
    ASN1_GENERALIZEDTIME* nextUpdate = nullptr;
    if (!id || OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked, &thisUpdate,
                                     &nextUpdate) != 1)
        return "the OCSP response is not for this certificate";
    if (status != V_OCSP_CERTSTATUS_GOOD)
        return std::string("the OCSP response says the certificate is ") + OCSP_cert_status_str(status);
    // Five minutes of clock skew allowed for thisUpdate; a response without nextUpdate never expires.
    if (OCSP_check_validity(thisUpdate, nextUpdate, 300, -1) != 1) {
        ERR_clear_error();
        return "the OCSP response has expired (nextUpdate " +
               (nextUpdate != nullptr ? isoTime(unixTime(nextUpdate)) : std::string("?")) + ")";
    }
    pair.info.ocspNextUpdate = nextUpdate != nullptr ? unixTime(nextUpdate) : 0;
    pair.staple = std::move(der);
    return "";
}

/// Reads one <Certificate>'s files and checks them: the key matches the certificate, each
/// chain certificate issued (and signed) the one before it, and the certificate is valid now.
util::Expected<LoadedPair> loadPair(const config::CertificateConfig& config)
{
    auto fail = [&](const std::string& why) {
        return util::failure(config.where + ": <Certificate certificateFile=\"" + config.certificateFile +
                             "\">: " + why);
    };
    LoadedPair pair;
    pair.info.where = config.where;
    pair.info.certificateFile = config.certificateFile;
    pair.info.hostNames = config.hostNames;

    auto certificates = readCertificates(config.certificateFile);
    if (!certificates) return fail(certificates.error());
    pair.leaf = std::move(certificates->front());
    for (size_t i = 1; i < certificates->size(); ++i)
        pair.chain.push_back(std::move((*certificates)[i]));
    if (!config.chainFile.empty()) {
        auto chain = readCertificates(config.chainFile);
        if (!chain) return fail(chain.error());
        for (X509Ptr& x : *chain)
            pair.chain.push_back(std::move(x));
    }

    const std::string& keyFile = config.keyFile.empty() ? config.certificateFile : config.keyFile;
    BioPtr bio(BIO_new_file(keyFile.c_str(), "r"));
    if (!bio) return fail("cannot read key file \"" + keyFile + "\": " + sslError("no such file"));
    pair.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!pair.key)
        return fail("\"" + keyFile + "\" holds no PEM private key (" + sslError("unreadable") + ")");
    if (X509_check_private_key(pair.leaf.get(), pair.key.get()) != 1) {
        ERR_clear_error();
        return fail("the key in \"" + keyFile + "\" does not belong to the certificate");
    }

    const X509* subject = pair.leaf.get();
    for (const X509Ptr& issuer : pair.chain) {
        if (X509_check_issued(issuer.get(), const_cast<X509*>(subject)) != X509_V_OK ||
            X509_verify(const_cast<X509*>(subject), X509_get0_pubkey(issuer.get())) != 1) {
            ERR_clear_error();
            return fail("the chain is broken: \"" + nameText(X509_get_subject_name(issuer.get())) +
                        "\" did not issue \"" + nameText(X509_get_subject_name(subject)) + "\"");
        }
        subject = issuer.get();
    }

    describe(pair.leaf.get(), pair.key.get(), pair.info);
    if (X509_cmp_current_time(X509_get0_notAfter(pair.leaf.get())) <= 0)
        return fail("the certificate expired on " + isoTime(pair.info.notAfter));
    if (X509_cmp_current_time(X509_get0_notBefore(pair.leaf.get())) >= 0)
        return fail("the certificate is not valid yet");
    pair.info.ocspStaple = config.ocspStaple;
    if (!config.ocspStaple.empty()) {
        std::string why = loadStaple(config, pair);
        if (!why.empty()) {
            LOG_WARN("tls", config.where + ": <Certificate ocspStaple=\"" + config.ocspStaple +
                                "\">: not stapled (the certificate serves without it): " + why);
        }
    }
    return pair;
}

/// The SSL ex_data slot that says whether a connection may choose h2 (TlsContext::newTransport
/// sets it from setOfferHttp2()); read by selectProtocol() whichever context SNI picked.
int offerHttp2Index() noexcept
{
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

/// The SSL ex_data slot holding the TlsContext of a connection (newTransport() sets it): the
/// session-ticket callback has no argument of its own.
int contextIndex() noexcept
{
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

/// The OCSP staples of one site context, one per pair that has a checked staple; owned by the
/// SSL_CTX (ex_data, freed with it), so a connection that outlives a reload keeps its own.
struct Staple
{
    X509Ptr leaf; ///< the certificate it is for (RSA or ECDSA: the handshake picks one)
    std::vector<unsigned char> der;
    int64_t nextUpdate = 0; ///< Unix seconds; 0 = none
    mutable std::atomic<bool> expiredLogged{false};
};
using Staples = std::vector<std::unique_ptr<Staple>>;

void freeStaples(void*, void* staples, CRYPTO_EX_DATA*, int, long, void*)
{
    delete static_cast<Staples*>(staples);
}

int staplesIndex() noexcept
{
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &freeStaples);
    return index;
}

/// OCSP status request (RFC 6066 8), during a handshake on the loop thread, after the
/// certificate was chosen: staples the chosen certificate's response unless it expired since
/// it was loaded (then one warning, and none stapled until a fresh file is reloaded).
int onStatusRequest(SSL* ssl, void*) noexcept
{
    const auto* staples =
        static_cast<const Staples*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), staplesIndex()));
    X509* chosen = SSL_get_certificate(ssl);
    if (staples == nullptr || chosen == nullptr) return SSL_TLSEXT_ERR_NOACK;
    for (const auto& staple : *staples) {
        if (X509_cmp(staple->leaf.get(), chosen) != 0) continue;
        if (staple->nextUpdate != 0 && staple->nextUpdate < static_cast<int64_t>(std::time(nullptr))) {
            if (!staple->expiredLogged.exchange(true)) {
                LOG_WARN("tls", "OCSP staple for \"" + nameText(X509_get_subject_name(chosen)) +
                                    "\" expired on " + isoTime(staple->nextUpdate) + ": no longer stapled");
            }
            return SSL_TLSEXT_ERR_NOACK;
        }
        auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(staple->der.data(), staple->der.size()));
        if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
        SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(staple->der.size())); // takes it
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/// Fills `out` from the kernel's CSPRNG (getrandom blocks only before the pool is seeded at
/// boot). Throws if the kernel refuses: tickets under a guessable key would be worse than none.
void randomBytes(unsigned char* out, size_t size)
{
    while (size > 0) {
        ssize_t n = ::getrandom(out, size, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
        }
        out += n;
        size -= static_cast<size_t>(n);
    }
}

/// ALPN (RFC 7301), during the handshake on the loop thread: h2 when the client offers it and the
/// connector speaks it, else http/1.1; a client that offers neither gets no ALPN answer and
/// speaks HTTP/1.1 (the RFC's "no_application_protocol" alert would only refuse old clients).
int selectProtocol(SSL* ssl, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
                   unsigned int inLength, void*) noexcept
{
    static const unsigned char kH2AndHttp11[] = "\x02h2\x08http/1.1";
    static const unsigned char kHttp11[] = "\x08http/1.1";
    const bool h2 = SSL_get_ex_data(ssl, offerHttp2Index()) != nullptr;
    const unsigned char* ours = h2 ? kH2AndHttp11 : kHttp11;
    const unsigned int oursLength = h2 ? sizeof kH2AndHttp11 - 1 : sizeof kHttp11 - 1;
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outLength, ours, oursLength, in, inLength) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/// The protocol settings every context of a TLS connector shares (the base context's apply
/// to each connection; the site contexts repeat them so that nothing depends on which of the
/// two OpenSSL reads a setting from).
bool configure(SSL_CTX* ctx)
{
    SSL_CTX_set_alpn_select_cb(ctx, &selectProtocol, nullptr);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    // NO_AUTO_CHAIN: the chain sent is the one configured (the certificate file's extra
    // certificates and chainFile, added with SSL_CTX_add1_chain_cert). Without it OpenSSL builds
    // a chain from the context's store on every handshake whose certificate has none (a
    // self-signed one, or a leaf whose issuer is left to the client), which verifies the
    // certificate's signature each time: costly for ECDSA.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    // One read() per burst of records instead of two per record (its 5-byte header, then the
    // rest): a keep-alive request is one record, so this halves the reads (nginx does the same).
    // Bytes read ahead wait in OpenSSL: TlsTransport::hasBufferedInput asks SSL_has_pending.
    SSL_CTX_set_read_ahead(ctx, 1);
    return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
           SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
           SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") == 1 &&
           SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                         "TLS_CHACHA20_POLY1305_SHA256") == 1 &&
           SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") == 1 &&
           SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1) == 1;
}

std::string joined(const std::vector<std::string>& names)
{
    std::string out;
    for (const std::string& name : names)
        out += (out.empty() ? "" : ",") + name;
    return out;
}

/// What says a file changed: a rename over it (new inode), or a rewrite (size, mtime).
struct FileStamp
{
    ino_t inode = 0;
    off_t size = -1;
    int64_t mtimeNanos = 0;
    bool operator==(const FileStamp& o) const noexcept
    {
        return inode == o.inode && size == o.size && mtimeNanos == o.mtimeNanos;
    }
};

std::vector<FileStamp> stampFiles(const std::vector<config::CertificateConfig>& configs)
{
    std::vector<FileStamp> out;
    for (const config::CertificateConfig& c : configs) {
        for (const std::string* file : {&c.certificateFile, &c.keyFile, &c.chainFile, &c.ocspStaple}) {
            FileStamp stamp;
            struct stat st
            {
            };
            if (!file->empty() && ::stat(file->c_str(), &st) == 0) {
                stamp.inode = st.st_ino;
                stamp.size = st.st_size;
                stamp.mtimeNanos = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
            }
            out.push_back(stamp);
        }
    }
    return out;
}

} // namespace

/// One group of <Certificate>s with the same host names: their pairs in one SSL_CTX.
struct TlsContext::Site
{
    std::vector<config::CertificateConfig> configs;
    std::vector<FileStamp> stamps; ///< of configs' files when last read (reloadChanged() only)
    mutable std::mutex mutex;      ///< guards ctx and info (reload swaps them)
    CtxPtr ctx;
    std::vector<CertificateInfo> info;
};

/// Builds a site context from `configs` (RSA and ECDSA side by side; two pairs of one key type
/// would silently replace each other, so that is refused).
static util::Expected<CtxPtr> buildSiteContext(const std::vector<config::CertificateConfig>& configs,
                                               std::vector<CertificateInfo>& info)
{
    CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx || !configure(ctx.get())) return util::failure("OpenSSL: " + sslError("cannot make a context"));
    std::vector<int> keyTypes;
    info.clear();
    auto staples = std::make_unique<Staples>();
    for (const config::CertificateConfig& config : configs) {
        auto pair = loadPair(config);
        if (!pair) return pair.failure();
        int keyType = EVP_PKEY_get_base_id(pair->key.get());
        if (std::find(keyTypes.begin(), keyTypes.end(), keyType) != keyTypes.end()) {
            return util::failure(
                config.where + ": a second " + pair->info.keyType.substr(0, pair->info.keyType.find(' ')) +
                " certificate for the same host names; one RSA and one ECDSA certificate may "
                "share host names");
        }
        keyTypes.push_back(keyType);
        if (SSL_CTX_use_certificate(ctx.get(), pair->leaf.get()) != 1 ||
            SSL_CTX_use_PrivateKey(ctx.get(), pair->key.get()) != 1) {
            return util::failure(config.where + ": OpenSSL refused the certificate: " + sslError("unusable"));
        }
        for (const X509Ptr& x : pair->chain) {
            if (SSL_CTX_add1_chain_cert(ctx.get(), x.get()) != 1)
                return util::failure(config.where + ": OpenSSL refused the chain: " + sslError("unusable"));
        }
        if (!pair->staple.empty()) {
            auto staple = std::make_unique<Staple>();
            X509_up_ref(pair->leaf.get());
            staple->leaf.reset(pair->leaf.get());
            staple->der = std::move(pair->staple);
            staple->nextUpdate = pair->info.ocspNextUpdate;
            staples->push_back(std::move(staple));
        }
        info.push_back(std::move(pair->info));
    }
    if (!staples->empty()) {
        SSL_CTX_set_tlsext_status_cb(ctx.get(), &onStatusRequest);
        if (SSL_CTX_set_ex_data(ctx.get(), staplesIndex(), staples.get()) == 1) staples.release();
    }
    return ctx;
}

TlsContext::TlsContext() = default;

TlsContext::~TlsContext()
{
    SSL_CTX_free(_base);
}

util::Expected<std::shared_ptr<TlsContext>>
TlsContext::create(const std::vector<config::CertificateConfig>& certificates, const HostAliases& aliases)
{
    std::shared_ptr<TlsContext> context(new TlsContext());
    context->_base = SSL_CTX_new(TLS_server_method());
    if (context->_base == nullptr || !configure(context->_base))
        return util::failure("OpenSSL: " + sslError("cannot make a context"));
    SSL_CTX_set_session_cache_mode(context->_base, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(context->_base, 20480);
    SSL_CTX_set_timeout(context->_base, 300);
    SSL_CTX_set_tlsext_servername_callback(context->_base, &TlsContext::onServerName);
    SSL_CTX_set_tlsext_servername_arg(context->_base, context.get());
    // The ticket callback belongs on the base context: OpenSSL encrypts and decrypts tickets
    // with the context the handshake started on, not the site context SNI switched to.
    SSL_CTX_set_tlsext_ticket_key_evp_cb(context->_base, &TlsContext::onTicketKey);
    try {
        context->rotateTicketKeys();
    } catch (const std::exception& e) {
        return util::failure(std::string("session-ticket key: ") + e.what());
    }
    context->_hasPreviousKey = false; // nothing came before the first key

    std::vector<std::string> keys; // one per site: its sorted host names
    for (const config::CertificateConfig& certificate : certificates) {
        std::vector<std::string> names = certificate.hostNames;
        std::sort(names.begin(), names.end());
        std::string key = joined(names);
        auto at = std::find(keys.begin(), keys.end(), key);
        if (at == keys.end()) {
            keys.push_back(key);
            context->_sites.push_back(std::make_unique<Site>());
            at = keys.end() - 1;
        }
        context->_sites[static_cast<size_t>(at - keys.begin())]->configs.push_back(certificate);
    }
    if (context->_sites.empty()) return util::failure("a TLS connector needs at least one <Certificate>");

    context->_defaultSite = 0;
    for (size_t i = 0; i < context->_sites.size(); ++i) {
        Site& site = *context->_sites[i];
        site.stamps = stampFiles(site.configs);
        auto ctx = buildSiteContext(site.configs, site.info);
        if (!ctx) return ctx.failure();
        site.ctx = std::move(*ctx);
        if (site.configs.front().hostNames.empty()) context->_defaultSite = i;
        for (const std::string& configured : site.configs.front().hostNames) {
            std::vector<std::string> names{configured};
            if (aliases) {
                for (const std::string& alias : aliases(configured))
                    names.push_back(util::toLower(alias));
            }
            for (const std::string& name : names) {
                bool wildcard = name.rfind("*.", 0) == 0;
                auto& table = wildcard ? context->_wildcard : context->_exact;
                auto [it, added] = table.emplace(wildcard ? name.substr(2) : name, i);
                if (!added && it->second != i) {
                    return util::failure(site.configs.front().where + ": host name \"" + name +
                                         "\" is already given to the <Certificate> at " +
                                         context->_sites[it->second]->configs.front().where);
                }
            }
        }
    }
    return context;
}

const TlsContext::Site& TlsContext::siteFor(const char* serverName) const noexcept
{
    if (serverName == nullptr || *serverName == '\0') return *_sites[_defaultSite];
    char lower[256];
    size_t length = 0;
    for (; serverName[length] != '\0'; ++length) {
        if (length == sizeof lower) return *_sites[_defaultSite]; // longer than any DNS name
        char c = serverName[length];
        lower[length] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    std::string name(lower, length);
    if (auto it = _exact.find(name); it != _exact.end()) return *_sites[it->second];
    size_t dot = name.find('.');
    if (dot != std::string::npos) {
        if (auto it = _wildcard.find(name.substr(dot + 1)); it != _wildcard.end()) return *_sites[it->second];
    }
    return *_sites[_defaultSite];
}

int TlsContext::onServerName(SSL* ssl, int*, void* arg) noexcept
{
    // Runs on every handshake, with or without SNI (OpenSSL >= 1.1.1 calls it either way).
    const auto* self = static_cast<const TlsContext*>(arg);
    const Site& site = self->siteFor(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
    std::lock_guard<std::mutex> lock(site.mutex);
    SSL_set_SSL_CTX(ssl, site.ctx.get()); // takes its own reference
    return SSL_TLSEXT_ERR_OK;
}

SSL_CTX* TlsContext::contextFor(const std::string& serverName) const
{
    const Site& site = siteFor(serverName.c_str());
    std::lock_guard<std::mutex> lock(site.mutex);
    return site.ctx.get();
}

std::unique_ptr<Transport> TlsContext::newTransport(int fd) const
{
    SSL* ssl = SSL_new(_base);
    if (ssl != nullptr && SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        ssl = nullptr;
    }
    if (ssl != nullptr) {
        SSL_set_accept_state(ssl);
        if (_offerHttp2) SSL_set_ex_data(ssl, offerHttp2Index(), ssl); // any non-null pointer
        SSL_set_ex_data(ssl, contextIndex(), const_cast<TlsContext*>(this));
    }
    ERR_clear_error();
    return std::make_unique<TlsTransport>(ssl);
}

void TlsContext::rotateTicketKeys()
{
    TicketKey fresh;
    randomBytes(fresh.name.data(), fresh.name.size());
    randomBytes(fresh.aes.data(), fresh.aes.size());
    randomBytes(fresh.hmac.data(), fresh.hmac.size());
    std::lock_guard<std::mutex> lock(_ticketMutex);
    OPENSSL_cleanse(&_ticketKeys[1], sizeof(TicketKey)); // its tickets get a full handshake now
    _ticketKeys[1] = _ticketKeys[0];
    _ticketKeys[0] = fresh;
    OPENSSL_cleanse(&fresh, sizeof fresh);
    _hasPreviousKey = true;
    _lastRotation = std::chrono::steady_clock::now();
}

std::chrono::milliseconds TlsContext::rotateTicketKeysIfDue(std::chrono::steady_clock::time_point now)
{
    std::chrono::steady_clock::time_point due;
    {
        std::lock_guard<std::mutex> lock(_ticketMutex);
        due = _lastRotation + _ticketInterval;
    }
    if (now < due)
        return std::chrono::duration_cast<std::chrono::milliseconds>(due - now) +
               std::chrono::milliseconds(1);
    try {
        rotateTicketKeys();
        LOG_INFO("tls", "session-ticket key rotated");
    } catch (const std::exception& e) {
        LOG_WARN("tls", std::string("session-ticket key not rotated, the old one stays: ") + e.what());
    }
    return _ticketInterval;
}

int TlsContext::onTicketKey(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                            EVP_MAC_CTX* mac, int encrypt) noexcept
{
    // During a handshake on a loop thread: encrypt = 1 to issue a ticket, 0 to open one.
    const auto* self = static_cast<const TlsContext*>(SSL_get_ex_data(ssl, contextIndex()));
    if (self == nullptr) return -1;
    TicketKey key;
    bool previous = false;
    {
        std::lock_guard<std::mutex> lock(self->_ticketMutex);
        if (encrypt != 0) {
            key = self->_ticketKeys[0];
        } else if (std::memcmp(name, self->_ticketKeys[0].name.data(), key.name.size()) == 0) {
            key = self->_ticketKeys[0];
        } else if (self->_hasPreviousKey &&
                   std::memcmp(name, self->_ticketKeys[1].name.data(), key.name.size()) == 0) {
            key = self->_ticketKeys[1];
            previous = true;
        } else {
            return 0; // an unknown or retired key: a full handshake
        }
    }
    int result = 1;
    if (encrypt != 0) {
        std::memcpy(name, key.name.data(), key.name.size());
        if (RAND_bytes(iv, 16) != 1 ||
            EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1)
            result = -1;
    } else if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) {
        result = -1;
    }
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac.data(), key.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (result == 1 && EVP_MAC_CTX_set_params(mac, params) != 1) result = -1;
    OPENSSL_cleanse(&key, sizeof key);
    if (result == 1 && previous) result = 2; // accepted; the client gets a ticket under the new key
    return result;
}

unsigned TlsContext::reloadChanged()
{
    std::lock_guard<std::mutex> reloading(_reloadMutex);
    unsigned replaced = 0;
    for (const auto& site : _sites) {
        std::vector<FileStamp> stamps = stampFiles(site->configs);
        if (stamps == site->stamps) continue;
        site->stamps = std::move(stamps);
        std::vector<CertificateInfo> info;
        auto ctx = buildSiteContext(site->configs, info);
        std::lock_guard<std::mutex> lock(site->mutex);
        if (!ctx) {
            for (CertificateInfo& old : site->info)
                old.lastError = ctx.error();
            LOG_WARN("tls", "certificate not reloaded, the old one keeps serving: " + ctx.error());
            continue;
        }
        site->ctx = std::move(*ctx); // live SSLs hold their own reference to the old one
        site->info = std::move(info);
        ++replaced;
        for (const CertificateInfo& now : site->info) {
            LOG_INFO("tls", now.where + ": reloaded " + now.certificateFile + " (" + now.subject + ", " +
                                now.keyType + ", expires " + isoTime(now.notAfter) + ")");
        }
    }
    return replaced;
}

std::vector<CertificateInfo> TlsContext::certificates() const
{
    std::vector<CertificateInfo> out;
    for (const auto& site : _sites) {
        std::lock_guard<std::mutex> lock(site->mutex);
        out.insert(out.end(), site->info.begin(), site->info.end());
    }
    return out;
}

} // namespace serval::connector::tls
