#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace serval::servlets {

/// Extension -> media type table (web.xml <mime-mapping>), used by the DefaultServlet.
///
/// Decisions (written down here because Tomcat and nginx differ):
/// - Extensions compare ASCII case-insensitively ("A.PNG" is image/png), the last dot of the
///   last path component counts ("x.tar.gz" -> gz), a name without a dot or a leading-dot-only
///   name (".htaccess") has no extension.
/// - Unknown extension: application/octet-stream (Tomcat and nginx do the same).
/// - Charset: the table stores types as configured (no charset, like Tomcat's conf/web.xml).
///   add() appends "; charset=utf-8" to textual types that carry no parameter: text/*,
///   application/javascript, application/json, application/xml, application/xhtml+xml,
///   application/manifest+json and every "+xml"/"+json" suffix (like nginx's `charset utf-8`
///   with a wide charset_types). Serval serves UTF-8; a file in another encoding can get its
///   own mapping with an explicit "; charset=..." parameter, which is kept as written.
///
/// OWNERSHIP: built once while the configuration loads, then shared read-only
/// (shared_ptr<const MimeTypes>) by every DefaultServlet of the Contexts that use it.
/// THREADS: add() only before sharing; lookup() from any thread. Views returned by lookup()
/// stay valid for the life of the object (unordered_map nodes never move).
class MimeTypes
{
public:
    static constexpr std::string_view kDefaultType = "application/octet-stream";

    /// Adds or replaces a mapping. `ext` without the dot ("html"); empty ext or type is ignored.
    void add(std::string ext, std::string type);
    /// The Content-Type value for a path or file name ("/a/b.CSS" -> "text/css; charset=utf-8").
    std::string_view lookup(std::string_view path) const;
    size_t size() const noexcept { return _types.size(); }

    /// True if `type` is textual in the sense above (exposed for tests and the manager).
    static bool isTextual(std::string_view type) noexcept;

private:
    std::unordered_map<std::string, std::string> _types; ///< lower-case ext -> Content-Type value
};

/// Builds a table from (extension, type) pairs in order; later pairs replace earlier ones, so
/// an app's web.xml pairs appended after conf/web.xml's override them.
std::shared_ptr<MimeTypes> mimeTypesFromPairs(const std::vector<std::pair<std::string, std::string>>& pairs);
/// The same from a merged web.xml table (config::WebAppConfig::mimeMappings: ext -> type).
std::shared_ptr<MimeTypes> mimeTypesFromMap(const std::map<std::string, std::string>& mappings);

} // namespace serval::servlets
