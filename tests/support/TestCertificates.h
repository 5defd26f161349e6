#pragma once

#include <memory>
#include <string>
#include <vector>

namespace serval::test {

/// PEM files of one issued certificate.
struct TestCertificate
{
    std::string certificateFile;
    std::string keyFile;
};

/// A throw-away certificate authority for TLS tests: its key and certificate live in memory,
/// ca.pem in `dir`; issue() writes leaf certificates signed by it (OpenSSL's API: no `openssl`
/// CLI, and validity periods in the past are possible, for expired certificates).
class TestCa
{
public:
    enum class KeyType
    {
        Rsa2048,
        EcP256
    };

    explicit TestCa(std::string dir);
    ~TestCa();
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    const std::string& caFile() const noexcept { return _caFile; }

    /// Writes `<stem>.pem` and `<stem>.key` in the directory: CN=`commonName`, the DNS names as
    /// subjectAltName, valid from now + notBeforeSeconds to now + notAfterSeconds.
    TestCertificate issue(const std::string& stem, const std::string& commonName,
                          const std::vector<std::string>& dnsNames, KeyType keyType = KeyType::EcP256,
                          long notBeforeSeconds = -3600, long notAfterSeconds = 30L * 86400) const;

    /// Writes a DER OCSP response (RFC 6960) signed by the CA saying the certificate in
    /// `certificateFile` is good, with thisUpdate/nextUpdate at now + the given seconds (in the
    /// past for an expired staple): what `openssl ocsp -respout` writes, but for any dates.
    void writeOcspResponse(const std::string& certificateFile, const std::string& path,
                           long thisUpdateSeconds = -60, long nextUpdateSeconds = 86400) const;

private:
    struct Impl;
    std::string _dir;
    std::string _caFile;
    std::unique_ptr<Impl> _impl;
};

} // namespace serval::test
