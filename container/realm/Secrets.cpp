#include "realm/Secrets.h"

#include "realm/Sha256Engine.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/DigestEngine.h>
#include <Poco/HMACEngine.h>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <sys/random.h>

namespace serval::realm {

std::string randomBytes(size_t count)
{
    std::string out(count, '\0');
    size_t filled = 0;
    while (filled < count) {
        ssize_t n = ::getrandom(out.data() + filled, count - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
        }
        filled += static_cast<size_t>(n);
    }
    return out;
}

std::string randomToken(size_t bytes)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string raw = randomBytes(bytes);
    std::string out;
    out.reserve((bytes * 4 + 2) / 3);
    unsigned buffer = 0;
    int bits = 0;
    for (unsigned char c : raw) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(buffer >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(buffer << (6 - bits)) & 0x3f]);
    return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

std::string hmacSha256(std::string_view key, std::string_view data)
{
    Poco::HMACEngine<Sha256Engine> engine{std::string(key)};
    engine.update(data.data(), data.size());
    const Poco::DigestEngine::Digest& mac = engine.digest();
    return std::string(mac.begin(), mac.end());
}

std::string sha256Hex(std::string_view data)
{
    Sha256Engine engine;
    engine.update(data.data(), data.size());
    return Poco::DigestEngine::digestToHex(engine.digest());
}

std::string base64Encode(std::string_view data)
{
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(data.data(), static_cast<std::streamsize>(data.size()));
    encoder.close();
    return out.str();
}

bool base64Decode(std::string_view text, std::string& out)
{
    try {
        std::istringstream in{std::string(text)};
        Poco::Base64Decoder decoder(in);
        std::ostringstream result;
        result << decoder.rdbuf();
        out = result.str();
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

} // namespace serval::realm
