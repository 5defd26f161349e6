#pragma once

#include "support/ArchiveBuilder.h"

#include <cstddef>
#include <string>
#include <vector>

namespace serval::test {

// Builders of the hostile-bundle corpus, shared by the unit tests (BundleExtractorTest: the
// extractor alone) and the scenario test against a real `serval` (DeploymentScenarioTest:
// the same archives dropped into a live appBase), so both refuse the very same bytes.

ArchiveEntry fileEntry(const std::string& name, const std::string& content = "x");
ArchiveEntry dirEntry(const std::string& name);
/// A symbolic link entry `name` pointing at `target` (refused: a link could lead out of staging).
ArchiveEntry symlinkEntry(const std::string& name, const std::string& target);
/// A hard link entry `name` to `target` (refused like symlinks).
ArchiveEntry hardlinkEntry(const std::string& name, const std::string& target);

/// A zip bomb: `files` entries of `fileSize` zeros each. Deflate packs zeros about 1000:1, so
/// the default archive is well under 1 MiB and unpacks to 64 MiB.
std::vector<ArchiveEntry> zipBomb(int files = 64, size_t fileSize = 1024 * 1024);

/// Writes to `path` the first half of a `format` archive holding two 200,000-byte files: a
/// truncated archive whose first header still reads, so the damage shows up mid-way.
/// A scratch file `path + ".full"` is written and removed.
void writeTruncatedArchive(const std::string& path, ArchiveFormat format);

} // namespace serval::test
