#include "http/HttpRequest.h"

namespace serval::http {

std::string_view HttpRequest::header(std::string_view name) const noexcept
{
    const Header* h = findHeader(headers, name);
    return h ? std::string_view(h->value) : std::string_view();
}

bool HttpRequest::hasHeader(std::string_view name) const noexcept
{
    return findHeader(headers, name) != nullptr;
}

void HttpRequest::clear() noexcept
{
    method.clear();
    target.clear();
    path.clear();
    query.clear();
    versionMajor = 1;
    versionMinor = 1;
    headers.clear();
    body.clear();
}

} // namespace serval::http
