#pragma once

#include "compression/ContentCoding.h"

#include <string_view>

namespace serval::compression {

/// Picks the coding for a response from the request's Accept-Encoding (RFC 9110 section
/// 12.5.3): the listed coding with the highest q-value among br and gzip ("x-gzip" counts as
/// gzip), br on a tie; a coding not listed takes the q of "*" if present, else 0. Identity is
/// acceptable unless "identity;q=0" (or "*;q=0" without identity) says otherwise; listed, it
/// wins when its q is higher than the best coding's (so "gzip;q=0.5, identity" stays
/// uncompressed); unlisted, it ranks below any listed coding ("gzip;q=0.2" is gzip). No
/// header or an empty one: Identity (the common server reading, nginx's and Tomcat's). When
/// nothing is acceptable, Identity too: the response is sent as it is rather than refused.
/// Unknown codings and malformed items are skipped; a malformed q counts as 0.
/// THREADS: pure.
/// `brotli` / `gzip` false: that coding is not on offer (a static file with only a .gz sibling)
/// and counts as refused.
ContentCoding negotiateContentCoding(std::string_view acceptEncoding, bool brotli = true,
                                     bool gzip = true) noexcept;

} // namespace serval::compression
