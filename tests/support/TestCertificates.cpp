#include "support/TestCertificates.h"

#include <cstdio>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdexcept>

namespace serval::test {
namespace {

EVP_PKEY* makeKey(TestCa::KeyType type)
{
    EVP_PKEY* key = type == TestCa::KeyType::Rsa2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    if (key == nullptr) throw std::runtime_error("TestCa: key generation failed");
    return key;
}

void addExtension(X509* certificate, X509* issuer, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, certificate, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (extension == nullptr) throw std::runtime_error("TestCa: bad extension " + value);
    X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
}

X509* makeCertificate(const std::string& commonName, EVP_PKEY* key, X509* issuer, long notBefore,
                      long notAfter, long serial)
{
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), notBefore);
    X509_gmtime_adj(X509_getm_notAfter(x), notAfter);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
    return x;
}

void writePem(const std::string& path, X509* certificate, EVP_PKEY* key)
{
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) throw std::runtime_error("TestCa: cannot write " + path);
    if (certificate != nullptr) PEM_write_X509(f, certificate);
    if (key != nullptr) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
}

} // namespace

struct TestCa::Impl
{
    EVP_PKEY* key = nullptr;
    X509* certificate = nullptr;
    mutable long serial = 2;
    ~Impl()
    {
        X509_free(certificate);
        EVP_PKEY_free(key);
    }
};

TestCa::TestCa(std::string dir)
    : _dir(std::move(dir)), _caFile(_dir + "/ca.pem"), _impl(std::make_unique<Impl>())
{
    _impl->key = makeKey(KeyType::EcP256);
    _impl->certificate = makeCertificate("Serval Test CA", _impl->key, nullptr, -86400, 365L * 86400, 1);
    addExtension(_impl->certificate, _impl->certificate, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(_impl->certificate, _impl->certificate, NID_key_usage, "critical,keyCertSign,cRLSign");
    addExtension(_impl->certificate, _impl->certificate, NID_subject_key_identifier, "hash");
    X509_sign(_impl->certificate, _impl->key, EVP_sha256());
    writePem(_caFile, _impl->certificate, nullptr);
}

TestCa::~TestCa() = default;

TestCertificate TestCa::issue(const std::string& stem, const std::string& commonName,
                              const std::vector<std::string>& dnsNames, KeyType keyType,
                              long notBeforeSeconds, long notAfterSeconds) const
{
    EVP_PKEY* key = makeKey(keyType);
    X509* x = makeCertificate(commonName, key, _impl->certificate, notBeforeSeconds, notAfterSeconds,
                              _impl->serial++);
    std::string names;
    for (const std::string& dns : dnsNames)
        names += (names.empty() ? "DNS:" : ",DNS:") + dns;
    if (!names.empty()) addExtension(x, _impl->certificate, NID_subject_alt_name, names);
    addExtension(x, _impl->certificate, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(x, _impl->certificate, NID_ext_key_usage, "serverAuth");
    addExtension(x, _impl->certificate, NID_authority_key_identifier, "keyid:always");
    X509_sign(x, _impl->key, EVP_sha256());
    TestCertificate out{_dir + "/" + stem + ".pem", _dir + "/" + stem + ".key"};
    writePem(out.certificateFile, x, nullptr);
    writePem(out.keyFile, nullptr, key);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

void TestCa::writeOcspResponse(const std::string& certificateFile, const std::string& path,
                               long thisUpdateSeconds, long nextUpdateSeconds) const
{
    std::FILE* in = std::fopen(certificateFile.c_str(), "r");
    if (in == nullptr) throw std::runtime_error("TestCa: cannot read " + certificateFile);
    X509* leaf = PEM_read_X509(in, nullptr, nullptr, nullptr);
    std::fclose(in);
    if (leaf == nullptr) throw std::runtime_error("TestCa: no certificate in " + certificateFile);
    OCSP_CERTID* id = OCSP_cert_to_id(nullptr, leaf, _impl->certificate);
    OCSP_BASICRESP* basic = OCSP_BASICRESP_new();
    ASN1_TIME* thisUpdate = X509_gmtime_adj(nullptr, thisUpdateSeconds);
    ASN1_TIME* nextUpdate = X509_gmtime_adj(nullptr, nextUpdateSeconds);
    bool ok = id != nullptr && basic != nullptr &&
              OCSP_basic_add1_status(basic, id, V_OCSP_CERTSTATUS_GOOD, 0, nullptr, thisUpdate, nextUpdate) !=
                  nullptr &&
              OCSP_basic_sign(basic, _impl->certificate, _impl->key, EVP_sha256(), nullptr, 0) == 1;
    OCSP_RESPONSE* response = ok ? OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic) : nullptr;
    unsigned char* der = nullptr;
    int length = response != nullptr ? i2d_OCSP_RESPONSE(response, &der) : -1;
    std::FILE* out = length > 0 ? std::fopen(path.c_str(), "wb") : nullptr;
    if (out != nullptr) {
        std::fwrite(der, 1, static_cast<size_t>(length), out);
        std::fclose(out);
    }
    OPENSSL_free(der);
    OCSP_RESPONSE_free(response);
    ASN1_TIME_free(nextUpdate);
    ASN1_TIME_free(thisUpdate);
    OCSP_BASICRESP_free(basic);
    OCSP_CERTID_free(id);
    X509_free(leaf);
    if (out == nullptr) throw std::runtime_error("TestCa: cannot write the OCSP response " + path);
}

} // namespace serval::test
