#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace serval::bundle {

/// SHA-256 fed piece by piece (Poco::SHA2Engine behind a small interface, so Poco stays private
/// to this library). The BundleExtractor hashes a bundle while it reads it; one instance per
/// computation, one thread at a time.
class Sha256
{
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, size_t size);
    /// The digest as lower-case hex; call once, after the last update().
    std::string hex();

private:
    struct Engine;
    std::unique_ptr<Engine> _engine;
};

/// SHA-256 of a file as lower-case hex, or nullopt (errno set) if it cannot be read. For the
/// start-up check that a bundle is unchanged and for `servalctl pack`; control thread only.
std::optional<std::string> sha256File(const std::string& path);

} // namespace serval::bundle
