#pragma once

#include "http/BodyConsumer.h"
#include "util/FileDescriptor.h"

#include <cstdint>
#include <string>

namespace serval::manager {

/// An authenticated POST /api/deploy body written to an unnamed file in the manager's staging
/// directory as it arrives, so a bundle of maxUploadSize never sits in memory. Created by
/// ManagerHeadCheck once the head is authorised; the deploy then copies it from descriptor().
/// The file is unlinked as soon as it is created: nothing is left behind when the client goes
/// away, the server dies, or the deploy fails.
///
/// THREADS: onData()/onEnd() on the exchange's I/O loop (a write to a local file, which the page
/// cache absorbs; the alternative, a worker per upload, would let uploads hold the admin pool);
/// descriptor() on the worker that runs the deploy, after onEnd().
/// OWNERSHIP: the Engine's exchange state (HeadCheck's bodyConsumer), until the exchange completes.
class StagedUpload : public http::BodyConsumer
{
public:
    /// Creates the file in `directory` (made if missing). Throws std::runtime_error if it cannot.
    StagedUpload(const std::string& directory, uint64_t maxBytes);

    http::BodyVerdict onData(http::HttpExchange& exchange, std::string_view bytes) noexcept override;
    http::BodyVerdict onEnd(http::HttpExchange& exchange) noexcept override;

    /// The staged body, open for reading (the caller may read and seek it; it stays owned here).
    int descriptor() const noexcept { return _file.get(); }
    uint64_t size() const noexcept { return _size; }

private:
    util::FileDescriptor _file;
    uint64_t _maxBytes;
    uint64_t _size = 0;
};

} // namespace serval::manager
