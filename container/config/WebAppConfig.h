#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace serval::config {

/// <multipart-config> in a <servlet>: the limits its multipart/form-data requests are parsed
/// within (core/Multipart.h). Sizes in bytes; -1 = no limit of its own (the Context's body limit
/// always applies). The body is already in memory when it is parsed, so `location` and
/// `fileSizeThreshold` are accepted for compatibility and not used.
struct MultipartConfigDef
{
    std::string location;
    int64_t maxFileSize = -1;    ///< any one part with a filename
    int64_t maxRequestSize = -1; ///< the whole multipart body
    int64_t fileSizeThreshold = 0;
};

/// <servlet>
struct ServletDef
{
    std::string name;
    std::string className;
    std::map<std::string, std::string> initParams;
    std::optional<int> loadOnStartup; ///< nullopt: no <load-on-startup>
    std::optional<MultipartConfigDef> multipart;
    int line = 0;
};

/// <servlet-mapping>: one servlet, one or more patterns.
struct ServletMappingDef
{
    std::string servletName;
    std::vector<std::string> urlPatterns;
    int line = 0;
};

/// <filter>
struct FilterDef
{
    std::string name;
    std::string className;
    std::map<std::string, std::string> initParams;
    int line = 0;
};

/// <filter-mapping>: by URL pattern and/or servlet name, for the listed dispatcher types.
struct FilterMappingDef
{
    std::string filterName;
    std::vector<std::string> urlPatterns;
    std::vector<std::string> servletNames; ///< "*" = every servlet
    bool onRequest = true;                 ///< <dispatcher>REQUEST (the default when none is given)
    bool onError = false;                  ///< <dispatcher>ERROR
    int line = 0;
};

/// <security-constraint> (kept for the realm/auth issue).
struct WebResourceCollection
{
    std::string name;
    std::vector<std::string> urlPatterns;
    std::vector<std::string> httpMethods; ///< empty = all
    std::vector<std::string> httpMethodOmissions;
};
struct SecurityConstraintDef
{
    std::string displayName;
    std::vector<WebResourceCollection> collections;
    bool hasAuthConstraint = false; ///< <auth-constraint> present (even empty = deny all)
    std::vector<std::string> roles; ///< <auth-constraint><role-name>
    std::string transportGuarantee; ///< NONE, INTEGRAL, CONFIDENTIAL or ""
    int line = 0;
};

/// <login-config> (kept for the realm/auth issue).
struct LoginConfigDef
{
    std::string authMethod; ///< BASIC, FORM, ...
    std::string realmName;
    std::string formLoginPage;
    std::string formErrorPage;
};

/// A data source the app asks the container for, by the name its code uses
/// (`context.dataSource("main")`). Declared with the Servlet spec's element,
///   <resource-ref><res-ref-name>main</res-ref-name><res-type>javax.sql.DataSource</res-type></resource-ref>
/// (res-type, res-auth, res-sharing-scope and description are optional and otherwise ignored),
/// or Serval's shorter <data-source><name>main</name></data-source>, whose other children are
/// kept in `properties` and not used yet. The operator binds the name in server.xml
/// (<Host><Context path><DataSource name>); unbound, it is an embedded SQLite database at
/// data/<host>/<app>/<name>.db. The name names that file, so it is letters, digits, '_', '-'.
struct DataSourceDef
{
    std::string name;
    std::map<std::string, std::string> properties; ///< <data-source> only: other children, name -> text
    int line = 0;
};

/// <session-config><cookie-config>: the session cookie. A field left unset takes the default:
/// name SERVALSESSION, path = the context path, HttpOnly, SameSite=Lax, and Secure exactly when
/// the request is secure (TLS, or a TLS-terminating proxy the Connector trusts).
struct SessionCookieDef
{
    std::optional<std::string> name;
    std::optional<std::string> path;
    std::optional<bool> httpOnly;
    std::optional<bool> secure;          ///< true: always; false: never
    std::optional<std::string> sameSite; ///< "Strict", "Lax" or "None" (None needs Secure)
};

/// WEB-INF/web.xml or conf/web.xml, validated. Plain data.
struct WebAppConfig
{
    std::string source; ///< how the file is named in messages ("WEB-INF/web.xml")
    std::string displayName;
    std::map<std::string, std::string> contextParams;
    std::vector<ServletDef> servlets; ///< declaration order
    std::vector<ServletMappingDef> servletMappings;
    std::vector<FilterDef> filters;               ///< declaration order
    std::vector<FilterMappingDef> filterMappings; ///< declaration order = chain order
    std::vector<std::string> listeners;           ///< <listener-class>, declaration order
    std::vector<std::string> welcomeFiles;
    std::map<int, std::string> errorPages;           ///< status code -> location ("/errors/404.html")
    std::map<std::string, std::string> mimeMappings; ///< extension (lower case, no dot) -> type
    std::optional<int> sessionTimeoutMinutes;        ///< <session-timeout>; 0 = sessions never expire
    SessionCookieDef sessionCookie;                  ///< <cookie-config>; tracking is by cookie only
    std::vector<SecurityConstraintDef> securityConstraints;
    std::optional<LoginConfigDef> loginConfig;
    std::vector<std::string> securityRoles;
    std::vector<DataSourceDef> dataSources; ///< declaration order (resource-ref and data-source)
};

/// Reads and validates a web.xml. `displayName` names it in messages ("WEB-INF/web.xml").
/// Throws ConfigError ("WEB-INF/web.xml:LINE: what; what to do") for malformed XML, unknown
/// elements, bad values (load-on-startup, error-code, session-timeout, url-pattern), duplicate
/// servlet/filter names, mappings naming undeclared servlets/filters.
WebAppConfig readWebXml(const std::string& path, const std::string& displayName = "WEB-INF/web.xml");
/// Same, from a string (tests, bundles read in memory).
WebAppConfig parseWebXml(const std::string& text, const std::string& displayName = "WEB-INF/web.xml");

/// conf/web.xml at `path` (messages name it "conf/web.xml"), or the built-in defaults when
/// `path` is empty or the file does not exist (index.html as the welcome file, no MIME table beyond the
/// default type). The server reads it at start, each worker process again (the same file).
WebAppConfig readDefaultWebXml(const std::string& path);

/// The one merge function: `defaults` (conf/web.xml) under `app` (the app's WEB-INF/web.xml).
/// The app wins: its servlets, filters, params, error pages, session timeout and each session
/// cookie setting override the
/// defaults' entries of the same name/key; MIME mappings are merged (app wins per extension);
/// welcome files are the app's if it lists any, else the defaults'.
WebAppConfig mergeWebXml(const WebAppConfig& defaults, const WebAppConfig& app);

} // namespace serval::config
