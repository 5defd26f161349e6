#pragma once

// Internal to serval_app: what the files implementing the host function table share.

#include "serval/abi.h"

#include <new>
#include <string_view>

namespace serval::app::detail {

inline std::string_view view(serval_str_t s) noexcept
{
    return s.len == 0 || s.ptr == nullptr ? std::string_view() : std::string_view(s.ptr, s.len);
}

inline serval_str_t str(std::string_view s) noexcept
{
    return serval_str_t{s.data(), s.size()};
}

/// Runs `body`, mapping exceptions (allocation failures, mostly) to status codes: a host
/// function is noexcept, nothing unwinds into app code.
template <typename F> serval_status_t guarded(F&& body) noexcept
{
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return SERVAL_NO_MEMORY;
    } catch (...) {
        return SERVAL_ERROR;
    }
}

/// Sets the ABI 1.2 data source members of the table (HostApiDataSource.cpp).
void fillDataSourceFunctions(serval_host_api_t& table) noexcept;

} // namespace serval::app::detail
