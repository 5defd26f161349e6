#include "bundle/Checksum.h"

#include "util/FileDescriptor.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace serval::bundle {

struct Sha256::Engine
{
    Poco::SHA2Engine sha{Poco::SHA2Engine::SHA_256};
};

Sha256::Sha256() : _engine(std::make_unique<Engine>()) {}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t size)
{
    // Poco takes an unsigned length: feed very large buffers in pieces.
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        size_t piece = size < (1u << 30) ? size : (1u << 30);
        _engine->sha.update(p, static_cast<unsigned>(piece));
        p += piece;
        size -= piece;
    }
}

std::string Sha256::hex()
{
    return Poco::DigestEngine::digestToHex(_engine->sha.digest());
}

std::optional<std::string> sha256File(const std::string& path)
{
    util::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    Sha256 sha;
    std::vector<char> buffer(256 * 1024);
    while (true) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        sha.update(buffer.data(), static_cast<size_t>(n));
    }
    return sha.hex();
}

} // namespace serval::bundle
