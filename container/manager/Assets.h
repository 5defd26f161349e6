#pragma once

#include <string_view>

namespace serval::manager {

/// A file of the admin page (container/manager/assets/), compiled into the binary by the
/// build (cmake/EmbedAssets.cmake generates the table), so the page works without any file
/// under conf/ and cannot be altered on disk.
struct Asset
{
    std::string_view name; ///< "app.js"
    std::string_view contentType;
    std::string_view data;
};

/// nullptr if there is no such asset.
const Asset* findAsset(std::string_view name) noexcept;

} // namespace serval::manager
