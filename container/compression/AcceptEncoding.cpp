#include "compression/AcceptEncoding.h"

#include "util/Strings.h"

namespace serval::compression {
namespace {

constexpr int kUnlisted = -1;

/// RFC 9110 qvalue ("0", "0.5", "1.000") in thousandths; -1 if malformed.
int parseQ(std::string_view v) noexcept
{
    if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
    int whole = v[0] - '0';
    int thousandths = 0;
    if (v.size() > 1) {
        if (v[1] != '.' || v.size() > 5) return -1;
        int scale = 100;
        for (size_t i = 2; i < v.size(); ++i, scale /= 10) {
            if (v[i] < '0' || v[i] > '9') return -1;
            thousandths += (v[i] - '0') * scale;
        }
    }
    int q = whole * 1000 + thousandths;
    return q > 1000 ? -1 : q;
}

/// The q of one item's parameters ("q=0.5"; other parameters ignored); 1000 when absent.
int qOf(std::string_view params) noexcept
{
    int q = 1000;
    while (!params.empty()) {
        size_t semi = params.find(';');
        std::string_view param = util::trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
            int parsed = parseQ(util::trim(param.substr(2)));
            q = parsed < 0 ? 0 : parsed;
        }
    }
    return q;
}

} // namespace

ContentCoding negotiateContentCoding(std::string_view acceptEncoding, bool brotliOffered,
                                     bool gzipOffered) noexcept
{
    int br = kUnlisted;
    int gzip = kUnlisted;
    int identity = kUnlisted;
    int star = kUnlisted;
    std::string_view rest = acceptEncoding;
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        size_t semi = item.find(';');
        std::string_view coding = util::trim(item.substr(0, semi));
        if (coding.empty()) continue;
        int q = qOf(semi == std::string_view::npos ? std::string_view() : item.substr(semi + 1));
        // The highest q of repeated items counts ("gzip;q=0, gzip" admits gzip).
        auto take = [q](int& slot) { slot = q > slot ? q : slot; };
        if (util::equalsIgnoreCase(coding, "br"))
            take(br);
        else if (util::equalsIgnoreCase(coding, "gzip") || util::equalsIgnoreCase(coding, "x-gzip"))
            take(gzip);
        else if (util::equalsIgnoreCase(coding, "identity"))
            take(identity);
        else if (coding == "*")
            take(star);
    }
    const int fallback = star == kUnlisted ? 0 : star;
    if (br == kUnlisted) br = fallback;
    if (gzip == kUnlisted) gzip = fallback;
    if (!brotliOffered) br = 0;
    if (!gzipOffered) gzip = 0;
    // Unlisted identity is acceptable but never preferred over a coding the client listed.
    if (identity == kUnlisted) identity = star == kUnlisted ? 1 : star;
    const int best = br >= gzip ? br : gzip;
    if (best <= 0 || identity > best) return ContentCoding::Identity;
    return br >= gzip ? ContentCoding::Brotli : ContentCoding::Gzip;
}

} // namespace serval::compression
