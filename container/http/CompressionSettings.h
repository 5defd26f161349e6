#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace serval::http {

/// Response compression for the exchanges of one Connector: server.xml's <Connector
/// compression="on|off|force" compressionMinSize="2048" compressibleMimeType="text/html,...">
/// (Tomcat's attribute names). Plain data: read by config/ServerXml.cpp into ConnectorConfig,
/// pointed to by every HttpExchange the Connector makes (HttpExchange::compression), applied
/// above the wire protocol by compression/ResponseCompression (HTTP/1.1 and HTTP/2 alike).
/// LIFETIME: the Connector's config, which outlives its exchanges.
struct CompressionSettings
{
    enum class Mode
    {
        Off,  ///< never compress
        On,   ///< compressible types of at least minSize bytes (or of unknown length)
        Force ///< every response the client accepts compressed, whatever its type and size (Tomcat's "force")
    };
    Mode mode = Mode::On;
    uint64_t minSize = 2048; ///< bytes; smaller bodies go out as they are (no Vary either)
    /// Media types ("type/subtype", lower case) that are compressed; "text/*" names a whole type.
    std::vector<std::string> mimeTypes = {
        "text/*",          "application/json",      "application/javascript",
        "application/xml", "application/xhtml+xml", "image/svg+xml"};
};

} // namespace serval::http
