#include "connector/websocket/WebSocketHandshake.h"

#include "util/Strings.h"

#include <openssl/evp.h>

namespace serval::websocket {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// True if a comma list header (any occurrence) holds `token`, ASCII case-insensitively.
bool headerHasToken(const http::HttpRequest& request, std::string_view name, std::string_view token)
{
    for (const http::Header& h : request.headers) {
        if (!util::equalsIgnoreCase(h.name, name)) continue;
        for (std::string_view item : util::splitList(h.value, ','))
            if (util::equalsIgnoreCase(item, token)) return true;
    }
    return false;
}

bool isBase64Char(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/// 16 bytes in base64: 22 alphabet characters and "==" (RFC 6455 4.1 item 7).
bool validKey(std::string_view key) noexcept
{
    if (key.size() != 24 || key.substr(22) != "==") return false;
    for (size_t i = 0; i < 22; ++i)
        if (!isBase64Char(key[i])) return false;
    return true;
}

/// "host:port" lower-cased without the scheme's default port.
std::string normalHostPort(std::string_view hostPort, std::string_view scheme)
{
    std::string out = util::toLower(hostPort);
    std::string_view defaultPort = scheme == "https" || scheme == "wss" ? ":443" : ":80";
    if (util::endsWith(out, defaultPort)) out.resize(out.size() - defaultPort.size());
    return out;
}

Handshake refuse(int status, std::string error)
{
    Handshake h;
    h.status = status;
    h.error = std::move(error);
    return h;
}

} // namespace

std::string acceptKey(std::string_view key)
{
    std::string input(key);
    input.append(kGuid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha1(), nullptr);
    unsigned char encoded[64];
    int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
    return std::string(reinterpret_cast<char*>(encoded), static_cast<size_t>(length));
}

bool originAllowed(const http::HttpRequest& request, const WebSocketConfig& config)
{
    if (!request.hasHeader("Origin")) return true; // not a browser: Origin protects browsers' users
    std::string_view origin = request.header("Origin");
    for (const std::string& allowed : config.allowedOrigins)
        if (allowed == "*" || util::equalsIgnoreCase(allowed, origin)) return true;
    if (!config.allowedOrigins.empty()) return false;
    size_t sep = origin.find("://");
    if (sep == std::string_view::npos) return false; // "null" and other opaque origins
    std::string scheme = util::toLower(origin.substr(0, sep));
    std::string_view hostPort = origin.substr(sep + 3);
    if (hostPort.empty() || hostPort.find('/') != std::string_view::npos) return false;
    return normalHostPort(hostPort, scheme) == normalHostPort(request.host(), scheme);
}

Handshake negotiateHandshake(const http::HttpRequest& request, const WebSocketConfig& config)
{
    if (request.method != "GET") return refuse(400, "a WebSocket handshake is a GET");
    if (request.versionMajor != 1 || request.versionMinor < 1)
        return refuse(400, "a WebSocket handshake needs HTTP/1.1");
    if (!headerHasToken(request, "Upgrade", "websocket")) return refuse(400, "Upgrade: websocket missing");
    if (!headerHasToken(request, "Connection", "upgrade")) return refuse(400, "Connection: upgrade missing");
    std::string_view key = util::trim(request.header("Sec-WebSocket-Key"));
    if (!validKey(key)) return refuse(400, "Sec-WebSocket-Key is not 16 bytes of base64");
    if (util::trim(request.header("Sec-WebSocket-Version")) != "13")
        return refuse(426, "Sec-WebSocket-Version must be 13");
    if (!originAllowed(request, config)) return refuse(403, "Origin not allowed");

    Handshake h;
    h.accept = acceptKey(key);
    std::vector<std::string_view> offered, extensions;
    for (const http::Header& header : request.headers) {
        if (util::equalsIgnoreCase(header.name, "Sec-WebSocket-Protocol"))
            for (std::string_view p : util::splitList(header.value, ','))
                offered.push_back(p);
        if (util::equalsIgnoreCase(header.name, "Sec-WebSocket-Extensions"))
            extensions.push_back(header.value);
    }
    for (const std::string& mine : config.subprotocols) {
        bool found = false;
        for (std::string_view theirs : offered)
            found = found || theirs == mine; // subprotocol names are case-sensitive (RFC 6455 11.5)
        if (found) {
            h.subprotocol = mine;
            break;
        }
    }
    h.deflate = negotiateDeflate(extensions, config);
    return h;
}

void writeHandshakeResponse(const Handshake& handshake, http::HttpResponse& response)
{
    if (!handshake.accepted()) {
        response.setStatus(handshake.status);
        if (handshake.status == 426) response.setHeader("Sec-WebSocket-Version", "13");
        response.setContentType("text/plain; charset=utf-8");
        response.write(handshake.error + "\n");
        return;
    }
    response.setStatus(101);
    response.setHeader("Upgrade", "websocket");
    response.setHeader("Sec-WebSocket-Accept", handshake.accept);
    if (!handshake.subprotocol.empty()) response.setHeader("Sec-WebSocket-Protocol", handshake.subprotocol);
    if (handshake.deflate)
        response.setHeader("Sec-WebSocket-Extensions", deflateResponseHeader(*handshake.deflate));
}

} // namespace serval::websocket
