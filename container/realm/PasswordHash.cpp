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

} // namespace serval::realm
