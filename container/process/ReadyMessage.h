#pragma once

#include "config/WebAppConfig.h"

#include <optional>
#include <string>
#include <string_view>

namespace serval::process {

/// What a worker tells the server once its Context started (ControlType::Ready): the libraries
/// it loaded, for the log, and what they declare in code (core::codeDeclarations: SERVAL_APP's
/// servlets and filters with their url-patterns, listeners). The server's Context merges those
/// under web.xml exactly as the worker did, so it maps the isolated app as an in-process one
/// would: what it serves itself (static files no filter wraps) and what it forwards.
///
/// Sent by workerMain() (worker side); decoded by WorkerProcess::waitReady() in the server,
/// where it is hostile input: every field is bounds-checked, counts are capped, and a payload
/// that does not decode exactly fails the worker's start.
struct ReadyMessage
{
    std::string loaded; ///< "libshop.so (ABI 1.1)"; ...
    /// Servlets (name, class, load-on-startup), servlet mappings, filters, filter mappings and
    /// listeners; init params and multipart settings stay in the worker, which runs the code.
    config::WebAppConfig declarations;

    std::string encode() const;
    static std::optional<ReadyMessage> decode(std::string_view payload);
};

} // namespace serval::process
