#include "support/Fixtures.h"

#include "support/TempDir.h"

#include <fstream>

namespace serval::test {

std::string copyWithPatch(const std::string& from, const std::string& to, size_t offset,
                          const std::string& patch)
{
    std::string bytes = readFile(from);
    if (!patch.empty()) bytes.replace(offset, patch.size(), patch);
    std::ofstream(to, std::ios::binary | std::ios::trunc) << bytes;
    return to;
}

} // namespace serval::test
