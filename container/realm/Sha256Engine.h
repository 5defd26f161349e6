#pragma once

#include <Poco/SHA2Engine.h>

namespace serval::realm {

/// Poco::SHA2Engine fixed to SHA-256, with the BLOCK_SIZE/DIGEST_SIZE constants that
/// Poco::HMACEngine and Poco::PBKDF2Engine need as template arguments (Poco 1.11's SHA2Engine
/// selects the algorithm at run time and does not declare them).
class Sha256Engine : public Poco::SHA2Engine
{
public:
    enum
    {
        BLOCK_SIZE = 64,
        DIGEST_SIZE = 32
    };
    Sha256Engine() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

} // namespace serval::realm
