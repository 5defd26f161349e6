#include "deployer/Checksum.h"

#include "util/FileDescriptor.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace serval::deployer {

std::optional<std::string> sha256File(const std::string& path)
{
    util::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    std::vector<char> buffer(256 * 1024);
    while (true) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        engine.update(buffer.data(), static_cast<unsigned>(n));
    }
    return Poco::DigestEngine::digestToHex(engine.digest());
}

std::string sha256Bytes(const void* data, size_t size)
{
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    engine.update(data, static_cast<unsigned>(size));
    return Poco::DigestEngine::digestToHex(engine.digest());
}

} // namespace serval::deployer
