// Unpacking speed of BundleExtractor (the target: within 1.5x of `bsdtar -xf`).
// usage: bundle_extract_bench BUNDLE STAGING_DIR   (prints milliseconds; STAGING_DIR must not exist)
#include "bundle/BundleExtractor.h"

#include <chrono>
#include <cstdio>

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s BUNDLE STAGING_DIR\n", argv[0]);
        return 2;
    }
    serval::bundle::ExtractionLimits limits;
    limits.maxTotalBytes = 1ull << 40;
    serval::bundle::BundleExtractor extractor(limits);
    auto start = std::chrono::steady_clock::now();
    auto result = extractor.extractFile(argv[1], argv[2], "bench");
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!result) {
        std::fprintf(stderr, "%s\n", result.error().c_str());
        return 1;
    }
    std::printf("%.1f ms, %llu files, %llu bytes, sha256 %s\n", ms, (unsigned long long)result->files,
                (unsigned long long)result->bytes, result->sha256.c_str());
    return 0;
}
