#include "realm/PasswordHash.h"

#include "realm/Secrets.h"
#include "realm/Sha256Engine.h"

#include <Poco/HMACEngine.h>
#include <Poco/PBKDF2Engine.h>

namespace serval::realm {

using Pbkdf2Sha256 = Poco::PBKDF2Engine<Poco::HMACEngine<Sha256Engine>>;

std::string PasswordHash::derive(std::string_view password, std::string_view salt, unsigned iterations,
                                 size_t keyBytes)
{
    Pbkdf2Sha256 engine{std::string(salt), iterations, static_cast<Poco::UInt32>(keyBytes)};
    engine.update(password.data(), password.size());
    const Poco::DigestEngine::Digest& key = engine.digest();
    return std::string(key.begin(), key.end());
}

PasswordHash PasswordHash::create(std::string_view password, unsigned iterations)
{
    PasswordHash result;
    result.salt = randomBytes(SaltBytes);
    result.iterations = iterations;
    result.hash = derive(password, result.salt, iterations);
    return result;
}

bool PasswordHash::verify(std::string_view password) const
{
    if (hash.empty() || iterations == 0) return false;
    return constantTimeEquals(derive(password, salt, iterations, hash.size()), hash);
}

namespace {
constexpr std::string_view kScheme = "pbkdf2-sha256";
} // namespace

std::string PasswordHash::encode() const
{
    return std::string(kScheme) + "$" + std::to_string(iterations) + "$" + base64Encode(salt) + "$" +
           base64Encode(hash);
}

std::optional<PasswordHash> PasswordHash::decode(std::string_view text)
{
    std::string_view fields[4];
    for (size_t i = 0; i < 4; ++i) {
        size_t dollar = text.find('$');
        if ((dollar == std::string_view::npos) != (i == 3)) return std::nullopt;
        fields[i] = text.substr(0, dollar);
        text = dollar == std::string_view::npos ? std::string_view() : text.substr(dollar + 1);
    }
    PasswordHash result;
    if (fields[0] != kScheme || fields[1].empty() || fields[1].size() > 9) return std::nullopt;
    unsigned iterations = 0;
    for (char c : fields[1]) {
        if (c < '0' || c > '9') return std::nullopt;
        iterations = iterations * 10 + static_cast<unsigned>(c - '0');
    }
    if (iterations < MinIterations || !base64Decode(fields[2], result.salt) || result.salt.empty() ||
        !base64Decode(fields[3], result.hash) || result.hash.size() != KeyBytes) {
        return std::nullopt;
    }
    result.iterations = iterations;
    return result;
}

} // namespace serval::realm
