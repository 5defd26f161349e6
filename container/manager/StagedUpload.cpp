#include "manager/StagedUpload.h"

#include "http/HttpHandler.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::manager {

StagedUpload::StagedUpload(const std::string& directory, uint64_t maxBytes) : _maxBytes(maxBytes)
{
    // BASE/work may not exist yet on a fresh base (the deployer makes it with its first app).
    std::string parent = directory.substr(0, directory.rfind('/'));
    if (!parent.empty()) ::mkdir(parent.c_str(), 0750);
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create " + directory + ": " + std::strerror(errno));
    std::string name = directory + "/upload-XXXXXX";
    _file = util::FileDescriptor(::mkostemp(name.data(), O_CLOEXEC));
    if (!_file)
        throw std::runtime_error("cannot create a file in " + directory + ": " + std::strerror(errno));
    ::unlink(name.c_str());
}

http::BodyVerdict StagedUpload::onData(http::HttpExchange& exchange, std::string_view bytes) noexcept
{
    // The Connector enforces the head decision's maxBodySize too; this keeps the file's bound
    // local to the file.
    if (_size + bytes.size() > _maxBytes) return http::BodyVerdict::abort(413);
    while (!bytes.empty()) {
        ssize_t n = ::write(_file.get(), bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            exchange.response.setStatus(507);
            exchange.response.setHeader("Content-Type", "application/json");
            exchange.response.write(
                std::string(R"({"ok":false,"error":"io_error","detail":"cannot stage the upload: )") +
                std::strerror(errno) + "\"}");
            return http::BodyVerdict::abort(507);
        }
        bytes.remove_prefix(static_cast<size_t>(n));
        _size += static_cast<uint64_t>(n);
    }
    return http::BodyVerdict::proceed();
}

http::BodyVerdict StagedUpload::onEnd(http::HttpExchange&) noexcept
{
    return http::BodyVerdict::proceed();
}

} // namespace serval::manager
