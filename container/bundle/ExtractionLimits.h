#pragma once

#include <cstdint>

namespace serval::bundle {

/// Caps applied while a bundle is unpacked. Configurable per Host in server.xml
/// (`maxBundleEntries`, `maxBundleBytes`, `maxBundleFileSize`); these are the defaults.
/// Bytes are counted as they are written, never taken from what the archive declares.
struct ExtractionLimits
{
    uint64_t maxEntries = 10'000;                  ///< headers read (files and directories)
    uint64_t maxTotalBytes = 256ull * 1024 * 1024; ///< bytes written over the whole bundle
    uint64_t maxFileBytes = 64ull * 1024 * 1024;   ///< size of one file (largest offset written)
};

} // namespace serval::bundle
