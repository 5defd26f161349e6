#include "servlets/ByteRange.h"

#include "util/Strings.h"

#include <algorithm>

namespace serval::servlets {

RangeOutcome evaluateRange(std::string_view header, uint64_t size, ByteRange& range) noexcept
{
    header = util::trim(header);
    if (header.empty()) return RangeOutcome::Full;
    size_t equals = header.find('=');
    if (equals == std::string_view::npos) return RangeOutcome::Full;
    if (!util::equalsIgnoreCase(util::trim(header.substr(0, equals)), "bytes")) return RangeOutcome::Full;
    std::string_view spec = util::trim(header.substr(equals + 1));
    if (spec.find(',') != std::string_view::npos) return RangeOutcome::Full;
    size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return RangeOutcome::Full;
    std::string_view firstText = util::trim(spec.substr(0, dash));
    std::string_view lastText = util::trim(spec.substr(dash + 1));

    if (firstText.empty()) {
        // suffix-range "-n": the last n bytes.
        auto suffix = util::parseUnsigned(lastText);
        if (!suffix) return RangeOutcome::Full;
        if (*suffix == 0 || size == 0) return RangeOutcome::Unsatisfiable;
        uint64_t n = std::min(*suffix, size);
        range.first = size - n;
        range.last = size - 1;
        return RangeOutcome::Partial;
    }
    auto first = util::parseUnsigned(firstText);
    if (!first) return RangeOutcome::Full;
    uint64_t last = UINT64_MAX;
    if (!lastText.empty()) {
        auto parsed = util::parseUnsigned(lastText);
        if (!parsed || *parsed < *first) return RangeOutcome::Full;
        last = *parsed;
    }
    if (*first >= size) return RangeOutcome::Unsatisfiable;
    range.first = *first;
    range.last = std::min(last, size - 1);
    return RangeOutcome::Partial;
}

} // namespace serval::servlets
