#include "config/WebAppConfig.h"
#include "config/XmlReader.h"
#include "http/Token.h"
#include "mapper/ServletMapper.h"
#include "util/Strings.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sys/stat.h>

namespace serval::config {
namespace {

using tinyxml2::XMLElement;
using xml::Document;

/// Elements the Servlet descriptor allows almost anywhere for humans; accepted and ignored.
constexpr std::string_view kDescriptive[] = {"description", "display-name", "icon"};

std::vector<std::string_view> with(std::initializer_list<std::string_view> names, bool descriptive = true)
{
    std::vector<std::string_view> out(names);
    if (descriptive) out.insert(out.end(), std::begin(kDescriptive), std::end(kDescriptive));
    return out;
}

/// Text of the one required child `name`, or fail.
std::string required(const Document& d, const XMLElement& parent, const char* name)
{
    const XMLElement* child = parent.FirstChildElement(name);
    if (child == nullptr) xml::fail(d, parent, "<" + std::string(parent.Name()) + "> needs a <" + name + ">");
    if (child->NextSiblingElement(name)) {
        xml::fail(d, *child->NextSiblingElement(name),
                  "<" + std::string(name) + "> appears twice in <" + parent.Name() + ">");
    }
    std::string value = xml::text(d, *child);
    if (value.empty()) xml::fail(d, *child, "<" + std::string(name) + "> is empty");
    return value;
}

std::string optional(const Document& d, const XMLElement& parent, const char* name)
{
    const XMLElement* child = parent.FirstChildElement(name);
    return child ? xml::text(d, *child) : std::string();
}

std::vector<std::string> all(const Document& d, const XMLElement& parent, const char* name)
{
    std::vector<std::string> out;
    for (const XMLElement* c = parent.FirstChildElement(name); c; c = c->NextSiblingElement(name)) {
        out.push_back(xml::text(d, *c));
    }
    return out;
}

void readInitParams(const Document& d, const XMLElement& parent, std::map<std::string, std::string>& out)
{
    for (const XMLElement* p = parent.FirstChildElement("init-param"); p;
         p = p->NextSiblingElement("init-param")) {
        xml::checkChildren(d, *p, with({"param-name", "param-value"}));
        out[required(d, *p, "param-name")] = optional(d, *p, "param-value");
    }
}

std::string checkedPattern(const Document& d, const XMLElement& element)
{
    std::string pattern = xml::text(d, element);
    if (!mapper::isValidUrlPattern(pattern)) {
        xml::fail(d, element,
                  "invalid url-pattern \"" + pattern +
                      "\"; use \"/exact\", \"/prefix/*\", \"*.ext\", \"/\" or \"\"");
    }
    return pattern;
}

std::string sameSiteValue(const Document& d, const XMLElement& e, const std::string& value)
{
    for (const char* known : {"Strict", "Lax", "None"}) {
        if (util::equalsIgnoreCase(value, known)) return known;
    }
    xml::fail(d, e, "bad SameSite value \"" + value + "\"; expected Strict, Lax or None");
}

void readCookieConfig(const Document& d, const XMLElement& e, SessionCookieDef& cookie)
{
    xml::checkChildren(d, e, {"name", "path", "http-only", "secure", "same-site", "attribute"});
    for (const XMLElement* f = e.FirstChildElement(); f; f = f->NextSiblingElement()) {
        std::string_view field = f->Name();
        std::string value = field == "attribute" ? std::string() : xml::text(d, *f);
        if (field == "name") {
            if (!http::isToken(value)) { // RFC 6265: a cookie-name is a token
                xml::fail(d, *f, "bad cookie <name> \"" + value + "\"; use letters, digits and -_. only");
            }
            cookie.name = value;
        } else if (field == "path") {
            if (value.empty() || value.front() != '/' || value.find(';') != std::string::npos) {
                xml::fail(d, *f, "bad cookie <path> \"" + value + "\"; give a path that starts with '/'");
            }
            cookie.path = value;
        } else if (field == "http-only") {
            cookie.httpOnly = xml::parseBool(d, f->GetLineNum(), "<http-only>", value);
        } else if (field == "secure") {
            cookie.secure = xml::parseBool(d, f->GetLineNum(), "<secure>", value);
        } else if (field == "same-site") {
            cookie.sameSite = sameSiteValue(d, *f, value);
        } else if (field == "attribute") {
            // Servlet 6: <attribute><attribute-name>SameSite</attribute-name><attribute-value>...
            xml::checkChildren(d, *f, {"attribute-name", "attribute-value"});
            std::string attribute = required(d, *f, "attribute-name");
            if (!util::equalsIgnoreCase(attribute, "SameSite")) {
                xml::fail(d, *f,
                          "cookie attribute \"" + attribute +
                              "\" is not supported; the session cookie takes SameSite only (name, path, "
                              "http-only and secure have their own elements)");
            }
            cookie.sameSite = sameSiteValue(d, *f, required(d, *f, "attribute-value"));
        }
    }
    if (cookie.sameSite == "None" && cookie.secure == false) {
        xml::fail(d, e,
                  "SameSite=None needs a Secure cookie (browsers drop it otherwise); remove "
                  "<secure>false</secure>");
    }
}

void readSessionConfig(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e, {"session-timeout", "cookie-config", "tracking-mode"});
    if (const XMLElement* t = e.FirstChildElement("session-timeout")) {
        c.sessionTimeoutMinutes = static_cast<int>(
            xml::parseNumber(d, t->GetLineNum(), "<session-timeout>", xml::text(d, *t), 0, 525600));
    }
    if (const XMLElement* cookie = e.FirstChildElement("cookie-config"))
        readCookieConfig(d, *cookie, c.sessionCookie);
    for (const XMLElement* m = e.FirstChildElement("tracking-mode"); m;
         m = m->NextSiblingElement("tracking-mode")) {
        std::string mode = xml::text(d, *m);
        if (mode != "COOKIE") {
            xml::fail(d, *m,
                      "tracking mode \"" + mode +
                          "\" is not supported; Serval tracks sessions by cookie only (an id in a URL leaks "
                          "through logs and Referer headers): use COOKIE or leave it out");
        }
    }
}

/// <multipart-config> (Servlet 3.0): sizes in bytes, -1 = no limit of its own (the Context's
/// body limit still applies).
MultipartConfigDef readMultipartConfig(const Document& d, const XMLElement& e)
{
    xml::checkChildren(d, e, {"location", "max-file-size", "max-request-size", "file-size-threshold"});
    MultipartConfigDef m;
    m.location = optional(d, e, "location");
    auto size = [&](const char* name, int64_t& out) {
        if (const XMLElement* v = e.FirstChildElement(name)) {
            std::string text = xml::text(d, *v);
            out = text == "-1"
                      ? -1
                      : static_cast<int64_t>(xml::parseNumber(
                            d, v->GetLineNum(), "<" + std::string(name) + ">", text, 0, uint64_t(1) << 62));
        }
    };
    size("max-file-size", m.maxFileSize);
    size("max-request-size", m.maxRequestSize);
    size("file-size-threshold", m.fileSizeThreshold);
    return m;
}

void readServlet(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e,
                       with({"servlet-name", "servlet-class", "init-param", "load-on-startup",
                             "async-supported", "multipart-config"}));
    ServletDef s;
    s.line = e.GetLineNum();
    s.name = required(d, e, "servlet-name");
    s.className = required(d, e, "servlet-class");
    readInitParams(d, e, s.initParams);
    if (const XMLElement* l = e.FirstChildElement("load-on-startup")) {
        std::string v = xml::text(d, *l);
        if (!v.empty())
            s.loadOnStartup = static_cast<int>(xml::parseSigned(d, l->GetLineNum(), "<load-on-startup>", v));
    }
    if (const XMLElement* m = e.FirstChildElement("multipart-config"))
        s.multipart = readMultipartConfig(d, *m);
    for (const ServletDef& other : c.servlets) {
        if (other.name == s.name)
            xml::fail(d, e,
                      "servlet \"" + s.name + "\" is declared twice (first at line " +
                          std::to_string(other.line) + ")");
    }
    c.servlets.push_back(std::move(s));
}

void readServletMapping(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e, with({"servlet-name", "url-pattern"}));
    ServletMappingDef m;
    m.line = e.GetLineNum();
    m.servletName = required(d, e, "servlet-name");
    for (const XMLElement* p = e.FirstChildElement("url-pattern"); p;
         p = p->NextSiblingElement("url-pattern")) {
        std::string pattern = checkedPattern(d, *p);
        for (const ServletMappingDef& other : c.servletMappings) {
            for (const std::string& q : other.urlPatterns) {
                if (q == pattern) {
                    xml::fail(d, *p,
                              "url-pattern \"" + pattern + "\" is already mapped to servlet \"" +
                                  other.servletName + "\" (line " + std::to_string(other.line) +
                                  "); map each pattern once");
                }
            }
        }
        m.urlPatterns.push_back(pattern);
    }
    if (m.urlPatterns.empty()) xml::fail(d, e, "<servlet-mapping> needs at least one <url-pattern>");
    c.servletMappings.push_back(std::move(m));
}

void readFilter(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e, with({"filter-name", "filter-class", "init-param", "async-supported"}));
    FilterDef f;
    f.line = e.GetLineNum();
    f.name = required(d, e, "filter-name");
    f.className = required(d, e, "filter-class");
    readInitParams(d, e, f.initParams);
    for (const FilterDef& other : c.filters) {
        if (other.name == f.name)
            xml::fail(d, e,
                      "filter \"" + f.name + "\" is declared twice (first at line " +
                          std::to_string(other.line) + ")");
    }
    c.filters.push_back(std::move(f));
}

void readFilterMapping(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e, with({"filter-name", "url-pattern", "servlet-name", "dispatcher"}));
    FilterMappingDef m;
    m.line = e.GetLineNum();
    m.filterName = required(d, e, "filter-name");
    for (const XMLElement* p = e.FirstChildElement("url-pattern"); p;
         p = p->NextSiblingElement("url-pattern")) {
        m.urlPatterns.push_back(checkedPattern(d, *p));
    }
    m.servletNames = all(d, e, "servlet-name");
    if (m.urlPatterns.empty() && m.servletNames.empty()) {
        xml::fail(d, e, "<filter-mapping> needs a <url-pattern> or a <servlet-name>");
    }
    if (e.FirstChildElement("dispatcher")) {
        m.onRequest = false;
        for (const XMLElement* p = e.FirstChildElement("dispatcher"); p;
             p = p->NextSiblingElement("dispatcher")) {
            std::string type = xml::text(d, *p);
            if (type == "REQUEST") {
                m.onRequest = true;
            } else if (type == "ERROR") {
                m.onError = true;
            } else {
                xml::fail(d, *p, "dispatcher \"" + type + "\" is not supported; use REQUEST or ERROR");
            }
        }
    }
    c.filterMappings.push_back(std::move(m));
}

void readErrorPage(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e, with({"error-code", "location", "exception-type"}, false));
    if (const XMLElement* x = e.FirstChildElement("exception-type")) {
        xml::fail(d, *x, "<exception-type> error pages are not supported; use <error-code>500</error-code>");
    }
    const XMLElement* codeElement = e.FirstChildElement("error-code");
    if (codeElement == nullptr) xml::fail(d, e, "<error-page> needs an <error-code>, for example 404");
    int code = static_cast<int>(
        xml::parseNumber(d, codeElement->GetLineNum(), "<error-code>", xml::text(d, *codeElement), 400, 599));
    std::string location = required(d, e, "location");
    if (location.front() != '/') {
        xml::fail(d, e, "<location> \"" + location + "\" must start with '/' (a path inside the app)");
    }
    c.errorPages[code] = location;
}

void readSecurityConstraint(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e, with({"web-resource-collection", "auth-constraint", "user-data-constraint"}));
    SecurityConstraintDef s;
    s.line = e.GetLineNum();
    s.displayName = optional(d, e, "display-name");
    for (const XMLElement* w = e.FirstChildElement("web-resource-collection"); w;
         w = w->NextSiblingElement("web-resource-collection")) {
        xml::checkChildren(d, *w,
                           with({"web-resource-name", "url-pattern", "http-method", "http-method-omission"}));
        WebResourceCollection r;
        r.name = optional(d, *w, "web-resource-name");
        for (const XMLElement* p = w->FirstChildElement("url-pattern"); p;
             p = p->NextSiblingElement("url-pattern")) {
            r.urlPatterns.push_back(checkedPattern(d, *p));
        }
        if (r.urlPatterns.empty())
            xml::fail(d, *w, "<web-resource-collection> needs at least one <url-pattern>");
        r.httpMethods = all(d, *w, "http-method");
        r.httpMethodOmissions = all(d, *w, "http-method-omission");
        s.collections.push_back(std::move(r));
    }
    if (s.collections.empty()) xml::fail(d, e, "<security-constraint> needs a <web-resource-collection>");
    if (const XMLElement* a = e.FirstChildElement("auth-constraint")) {
        xml::checkChildren(d, *a, with({"role-name"}));
        s.hasAuthConstraint = true;
        s.roles = all(d, *a, "role-name");
    }
    if (const XMLElement* u = e.FirstChildElement("user-data-constraint")) {
        xml::checkChildren(d, *u, with({"transport-guarantee"}));
        s.transportGuarantee = optional(d, *u, "transport-guarantee");
        if (s.transportGuarantee != "NONE" && s.transportGuarantee != "INTEGRAL" &&
            s.transportGuarantee != "CONFIDENTIAL") {
            xml::fail(d, *u,
                      "bad <transport-guarantee> \"" + s.transportGuarantee +
                          "\"; expected NONE, INTEGRAL or CONFIDENTIAL");
        }
    }
    c.securityConstraints.push_back(std::move(s));
}

void readLoginConfig(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e, with({"auth-method", "realm-name", "form-login-config"}, false));
    LoginConfigDef l;
    l.authMethod = optional(d, e, "auth-method");
    l.realmName = optional(d, e, "realm-name");
    if (const XMLElement* f = e.FirstChildElement("form-login-config")) {
        xml::checkChildren(d, *f, with({"form-login-page", "form-error-page"}, false));
        l.formLoginPage = optional(d, *f, "form-login-page");
        l.formErrorPage = optional(d, *f, "form-error-page");
    }
    c.loginConfig = std::move(l);
}

/// The name a data source is declared under: it names a file (data/<host>/<app>/<name>.db).
void checkDataSourceName(const Document& d, const XMLElement& e, const std::string& name,
                         const WebAppConfig& c)
{
    if (!xml::isDataSourceName(name)) {
        xml::fail(d, e,
                  "data source name \"" + name +
                      "\" may hold only letters, digits, '_' and '-', at most 64 (it names a file; "
                      "there is no JNDI tree: write main, not jdbc/main)");
    }
    for (const DataSourceDef& other : c.dataSources) {
        if (other.name == name)
            xml::fail(d, e,
                      "data source \"" + name + "\" is declared twice (first at line " +
                          std::to_string(other.line) + ")");
    }
}

void readDataSource(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    DataSourceDef s;
    s.line = e.GetLineNum();
    s.name = required(d, e, "name");
    checkDataSourceName(d, e, s.name, c);
    for (const XMLElement* p = e.FirstChildElement(); p; p = p->NextSiblingElement()) {
        if (std::string_view(p->Name()) != "name") s.properties[p->Name()] = xml::text(d, *p);
    }
    c.dataSources.push_back(std::move(s));
}

/// <resource-ref>: the Servlet spec's way to ask for a container resource. Data sources are the
/// only kind the container provides, so another res-type is refused rather than left unbound.
void readResourceRef(const Document& d, const XMLElement& e, WebAppConfig& c)
{
    xml::checkChildren(d, e, with({"res-ref-name", "res-type", "res-auth", "res-sharing-scope"}));
    DataSourceDef s;
    s.line = e.GetLineNum();
    s.name = required(d, e, "res-ref-name");
    checkDataSourceName(d, e, s.name, c);
    std::string type = optional(d, e, "res-type");
    if (!type.empty() && type != "javax.sql.DataSource") {
        xml::fail(d, e,
                  "<res-type> \"" + type +
                      "\" is not provided by this container; only data sources (javax.sql.DataSource) are");
    }
    c.dataSources.push_back(std::move(s));
}

/// References between elements, checked once the whole file is read.
void checkReferences(const Document& d, const XMLElement& root, const WebAppConfig& c)
{
    std::set<std::string> servlets{"default"}; // the container's DefaultServlet
    for (const ServletDef& s : c.servlets)
        servlets.insert(s.name);
    std::set<std::string> filters;
    for (const FilterDef& f : c.filters)
        filters.insert(f.name);
    for (const ServletMappingDef& m : c.servletMappings) {
        if (servlets.count(m.servletName) == 0) {
            xml::fail(d, m.line,
                      "<servlet-mapping> names servlet \"" + m.servletName +
                          "\", which no <servlet> declares");
        }
    }
    for (const FilterMappingDef& m : c.filterMappings) {
        if (filters.count(m.filterName) == 0) {
            xml::fail(d, m.line,
                      "<filter-mapping> names filter \"" + m.filterName + "\", which no <filter> declares");
        }
        for (const std::string& s : m.servletNames) {
            if (s != "*" && servlets.count(s) == 0) {
                xml::fail(d, m.line,
                          "<filter-mapping> names servlet \"" + s + "\", which no <servlet> declares");
            }
        }
    }
    (void)root;
}

WebAppConfig read(Document& d)
{
    const XMLElement& root = *d.doc.RootElement();
    if (std::string_view(root.Name()) != "web-app") {
        xml::fail(d, root, "the root element is <" + std::string(root.Name()) + ">; expected <web-app>");
    }
    for (const tinyxml2::XMLAttribute* a = root.FirstAttribute(); a; a = a->Next()) {
        std::string_view n = a->Name();
        bool ok = n == "version" || n == "id" || n == "metadata-complete" || util::startsWith(n, "xmlns") ||
                  util::startsWith(n, "xsi:");
        if (!ok)
            xml::fail(d, a->GetLineNum(),
                      "unknown attribute \"" + std::string(n) +
                          "\" on <web-app>; expected one of: version, xmlns, xsi:schemaLocation");
    }
    xml::checkChildren(
        d, root,
        with({"context-param", "servlet", "servlet-mapping", "filter", "filter-mapping", "listener",
              "welcome-file-list", "error-page", "mime-mapping", "session-config", "security-constraint",
              "login-config", "security-role", "data-source", "resource-ref", "distributable"}));

    WebAppConfig c;
    c.source = d.displayName;
    for (const XMLElement* e = root.FirstChildElement(); e; e = e->NextSiblingElement()) {
        std::string_view name = e->Name();
        if (name == "display-name") {
            c.displayName = xml::text(d, *e);
        } else if (name == "context-param") {
            xml::checkChildren(d, *e, with({"param-name", "param-value"}));
            c.contextParams[required(d, *e, "param-name")] = optional(d, *e, "param-value");
        } else if (name == "servlet") {
            readServlet(d, *e, c);
        } else if (name == "servlet-mapping") {
            readServletMapping(d, *e, c);
        } else if (name == "filter") {
            readFilter(d, *e, c);
        } else if (name == "filter-mapping") {
            readFilterMapping(d, *e, c);
        } else if (name == "listener") {
            xml::checkChildren(d, *e, with({"listener-class"}));
            c.listeners.push_back(required(d, *e, "listener-class"));
        } else if (name == "welcome-file-list") {
            xml::checkChildren(d, *e, {"welcome-file"});
            for (std::string& w : all(d, *e, "welcome-file")) {
                if (w.empty() || w.front() == '/' || w.find("..") != std::string::npos) {
                    xml::fail(d, *e, "bad <welcome-file> \"" + w + "\"; give a file name such as index.html");
                }
                c.welcomeFiles.push_back(std::move(w));
            }
        } else if (name == "error-page") {
            readErrorPage(d, *e, c);
        } else if (name == "mime-mapping") {
            xml::checkChildren(d, *e, {"extension", "mime-type"});
            std::string ext = util::toLower(required(d, *e, "extension"));
            if (ext.front() == '.') ext.erase(0, 1);
            c.mimeMappings[ext] = required(d, *e, "mime-type");
        } else if (name == "session-config") {
            readSessionConfig(d, *e, c);
        } else if (name == "security-constraint") {
            readSecurityConstraint(d, *e, c);
        } else if (name == "login-config") {
            readLoginConfig(d, *e, c);
        } else if (name == "security-role") {
            xml::checkChildren(d, *e, with({"role-name"}));
            c.securityRoles.push_back(required(d, *e, "role-name"));
        } else if (name == "data-source") {
            readDataSource(d, *e, c);
        } else if (name == "resource-ref") {
            readResourceRef(d, *e, c);
        }
    }
    checkReferences(d, root, c);
    return c;
}

} // namespace

WebAppConfig readWebXml(const std::string& path, const std::string& displayName)
{
    Document d;
    d.displayName = displayName;
    xml::load(d, path);
    return read(d);
}

WebAppConfig parseWebXml(const std::string& text, const std::string& displayName)
{
    Document d;
    d.displayName = displayName;
    xml::parse(d, text);
    return read(d);
}

WebAppConfig readDefaultWebXml(const std::string& path)
{
    struct stat st
    {
    };
    if (!path.empty() && ::stat(path.c_str(), &st) == 0) return readWebXml(path, "conf/web.xml");
    WebAppConfig defaults;
    defaults.source = "conf/web.xml";
    defaults.welcomeFiles = {"index.html"};
    return defaults;
}

WebAppConfig mergeWebXml(const WebAppConfig& defaults, const WebAppConfig& app)
{
    WebAppConfig out = app;
    if (out.displayName.empty()) out.displayName = defaults.displayName;
    for (const auto& [k, v] : defaults.contextParams)
        out.contextParams.emplace(k, v);

    // Servlets and their mappings: a default applies unless the app declares the same name
    // or maps the same pattern.
    std::vector<ServletDef> servlets;
    for (const ServletDef& s : defaults.servlets) {
        bool overridden = false;
        for (const ServletDef& a : app.servlets)
            overridden = overridden || a.name == s.name;
        if (!overridden) servlets.push_back(s);
    }
    servlets.insert(servlets.end(), app.servlets.begin(), app.servlets.end());
    out.servlets = std::move(servlets);
    // The Servlet spec's rule for annotations (8.2.3): once the app maps a servlet it declares,
    // its mappings replace the defaults' for that name.
    std::set<std::string> appPatterns;
    std::set<std::string> remapped;
    for (const ServletMappingDef& m : app.servletMappings) {
        appPatterns.insert(m.urlPatterns.begin(), m.urlPatterns.end());
        for (const ServletDef& a : app.servlets) {
            if (a.name == m.servletName) remapped.insert(m.servletName);
        }
    }
    std::vector<ServletMappingDef> mappings;
    for (ServletMappingDef m : defaults.servletMappings) {
        if (remapped.count(m.servletName) != 0) continue;
        std::vector<std::string> kept;
        for (const std::string& p : m.urlPatterns) {
            if (appPatterns.count(p) == 0) kept.push_back(p);
        }
        if (kept.empty()) continue;
        m.urlPatterns = std::move(kept);
        mappings.push_back(std::move(m));
    }
    mappings.insert(mappings.end(), app.servletMappings.begin(), app.servletMappings.end());
    out.servletMappings = std::move(mappings);

    // Filters: the defaults' run first (outermost), unless the app redeclares the name.
    std::vector<FilterDef> filters;
    std::set<std::string> overriddenFilters;
    for (const FilterDef& f : defaults.filters) {
        bool overridden = false;
        for (const FilterDef& a : app.filters)
            overridden = overridden || a.name == f.name;
        if (overridden) {
            overriddenFilters.insert(f.name);
        } else {
            filters.push_back(f);
        }
    }
    filters.insert(filters.end(), app.filters.begin(), app.filters.end());
    out.filters = std::move(filters);
    std::vector<FilterMappingDef> filterMappings;
    for (const FilterMappingDef& m : defaults.filterMappings) {
        if (overriddenFilters.count(m.filterName) == 0) filterMappings.push_back(m);
    }
    filterMappings.insert(filterMappings.end(), app.filterMappings.begin(), app.filterMappings.end());
    out.filterMappings = std::move(filterMappings);

    std::vector<std::string> listeners;
    for (const std::string& l : defaults.listeners) {
        if (std::find(app.listeners.begin(), app.listeners.end(), l) == app.listeners.end())
            listeners.push_back(l);
    }
    listeners.insert(listeners.end(), app.listeners.begin(), app.listeners.end());
    out.listeners = std::move(listeners);

    if (out.welcomeFiles.empty()) out.welcomeFiles = defaults.welcomeFiles;
    for (const auto& [k, v] : defaults.errorPages)
        out.errorPages.emplace(k, v);
    for (const auto& [k, v] : defaults.mimeMappings)
        out.mimeMappings.emplace(k, v);
    if (!out.sessionTimeoutMinutes) out.sessionTimeoutMinutes = defaults.sessionTimeoutMinutes;
    SessionCookieDef& cookie = out.sessionCookie;
    if (!cookie.name) cookie.name = defaults.sessionCookie.name;
    if (!cookie.path) cookie.path = defaults.sessionCookie.path;
    if (!cookie.httpOnly) cookie.httpOnly = defaults.sessionCookie.httpOnly;
    if (!cookie.secure) cookie.secure = defaults.sessionCookie.secure;
    if (!cookie.sameSite) cookie.sameSite = defaults.sessionCookie.sameSite;
    if (!out.loginConfig) out.loginConfig = defaults.loginConfig;
    return out;
}

} // namespace serval::config
