#include "core/Servlet.h"

namespace serval::core {

void FilterChain::doFilter(Request& request, Response& response)
{
    if (_position < _filters.size()) {
        Filter* next = _filters[_position++];
        next->doFilter(request, response, *this);
        return;
    }
    if (_servlet != nullptr) _servlet->service(request, response);
}

} // namespace serval::core
