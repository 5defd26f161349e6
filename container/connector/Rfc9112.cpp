#include "connector/Rfc9112.h"

#include "util/Strings.h"

#include <cstdint>
#include <cstring>

namespace serval::connector::rfc9112 {

namespace {

bool isFieldValueByte(unsigned char c) noexcept
{
    return (c >= 0x20 || c == '\t') && c != 0x7f;
}

} // namespace

bool isFieldValue(std::string_view text) noexcept
{
    // Eight bytes at a time (every request and response header value passes here): a word is
    // clean unless it holds a byte below 0x20 or a 0x7f (exact tests from "Bit Twiddling
    // Hacks", hasless/haszero); only a flagged word is checked byte by byte (HTAB is allowed).
    constexpr uint64_t kOnes = 0x0101010101010101ull;
    constexpr uint64_t kHigh = 0x8080808080808080ull;
    const char* p = text.data();
    size_t n = text.size();
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t x;
        std::memcpy(&x, p, 8);
        uint64_t del = x ^ (kOnes * 0x7f);
        if ((((x - kOnes * 0x20) & ~x) | ((del - kOnes) & ~del)) & kHigh) {
            for (int i = 0; i < 8; ++i) {
                if (!isFieldValueByte(static_cast<unsigned char>(p[i]))) return false;
            }
        }
    }
    for (; n > 0; ++p, --n) {
        if (!isFieldValueByte(static_cast<unsigned char>(*p))) return false;
    }
    return true;
}

bool isOriginForm(std::string_view target) noexcept
{
    if (target.empty() || target.front() != '/') return false;
    for (char ch : target) {
        auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f || c == '#') return false;
    }
    return true;
}

TransferCoding classifyTransferEncoding(std::string_view joined) noexcept
{
    // transfer-coding = token *( OWS ";" OWS transfer-parameter ); parameters are refused here.
    int count = 0;
    int chunkedAt = -1;
    bool chunkedTwice = false;
    size_t pos = 0;
    while (pos <= joined.size()) {
        size_t comma = joined.find(',', pos);
        if (comma == std::string_view::npos) comma = joined.size();
        std::string_view item = util::trim(joined.substr(pos, comma - pos));
        pos = comma + 1;
        if (item.empty()) {
            if (comma == joined.size()) break;
            continue; // empty list elements are allowed (RFC 9110 5.6.1)
        }
        if (!isToken(item)) return TransferCoding::Invalid;
        if (util::equalsIgnoreCase(item, "chunked")) {
            if (chunkedAt >= 0) chunkedTwice = true;
            chunkedAt = count;
        }
        ++count;
    }
    if (count == 0 || chunkedTwice || chunkedAt != count - 1) return TransferCoding::Invalid;
    return count == 1 ? TransferCoding::Chunked : TransferCoding::Unsupported;
}

bool listContains(std::string_view list, std::string_view token) noexcept
{
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        if (comma == std::string_view::npos) comma = list.size();
        if (util::equalsIgnoreCase(util::trim(list.substr(pos, comma - pos)), token)) return true;
        pos = comma + 1;
    }
    return false;
}

} // namespace serval::connector::rfc9112
