#include "deployer/CrashPoint.h"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace serval::deployer {

void crashPoint(const char* point) noexcept
{
    const char* at = std::getenv("SERVAL_TEST_CRASH_AT");
    if (at != nullptr && std::strcmp(at, point) == 0) ::_exit(86);
}

} // namespace serval::deployer
