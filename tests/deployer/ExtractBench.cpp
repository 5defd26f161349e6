// Unpacking speed of BundleExtractor (the target: within 1.5x of `bsdtar -xf`).
// usage: deployer_extract_bench BUNDLE STAGING_DIR   (prints milliseconds; STAGING_DIR must not exist)
#include "deployer/BundleExtractor.h"

#include <chrono>
#include <cstdio>

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s BUNDLE STAGING_DIR\n", argv[0]);
        return 2;
    }
    serval::deployer::ExtractionLimits limits;
    limits.maxTotalBytes = 1ull << 40;
    serval::deployer::BundleExtractor extractor(limits);
    serval::deployer::ExtractionResult result;
    std::string error;
    auto start = std::chrono::steady_clock::now();
    bool ok = extractor.extractFile(argv[1], argv[2], "bench", result, error);
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!ok) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
    }
    std::printf("%.1f ms, %llu files, %llu bytes\n", ms, (unsigned long long)result.files,
                (unsigned long long)result.bytes);
    return 0;
}
