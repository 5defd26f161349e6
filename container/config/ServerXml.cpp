#include "config/ServerConfig.h"
#include "config/XmlReader.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <arpa/inet.h>
#include <cctype>
#include <limits>
#include <set>

namespace serval::config {
namespace {

using tinyxml2::XMLElement;
using xml::Attribute;
using xml::Document;

/// Relative paths in server.xml resolve against --base; "" stays "" (disabled).
std::string resolve(const std::string& base, std::string_view value)
{
    if (value.empty() || value.front() == '/') return std::string(value);
    return util::joinPath(base, std::string("/") + std::string(value));
}

// ---- attribute table builders: one line per attribute in the tables below ----------------------

template <typename T> Attribute<T> text(std::string_view name, std::string T::*member)
{
    return {name, [member](T& t, std::string_view v, const Document&, int) { t.*member = std::string(v); }};
}

template <typename T, typename N>
Attribute<T> number(std::string_view name, N T::*member, uint64_t min = 0,
                    uint64_t max = std::numeric_limits<N>::max())
{
    return {name, [name, member, min, max](T& t, std::string_view v, const Document& d, int line) {
                t.*member = static_cast<N>(
                    xml::parseNumber(d, line, "attribute \"" + std::string(name) + "\"", v, min, max));
            }};
}

template <typename T> Attribute<T> flag(std::string_view name, bool T::*member)
{
    return {name, [name, member](T& t, std::string_view v, const Document& d, int line) {
                t.*member = xml::parseBool(d, line, "attribute \"" + std::string(name) + "\"", v);
            }};
}

template <typename T> Attribute<T> duration(std::string_view name, uint32_t T::*member, uint64_t maxMs)
{
    return {name, [name, member, maxMs](T& t, std::string_view v, const Document& d, int line) {
                t.*member = static_cast<uint32_t>(
                    xml::parseDuration(d, line, "attribute \"" + std::string(name) + "\"", v, maxMs));
            }};
}

template <typename T>
Attribute<T> path(std::string_view name, std::string T::*member, const std::string& base)
{
    return {name,
            [member, base](T& t, std::string_view v, const Document&, int) { t.*member = resolve(base, v); }};
}

/// "512MiB", "1GiB", "64KiB", "1000000" (bytes).
uint64_t parseSize(const Document& d, int line, std::string_view name, std::string_view value)
{
    struct Unit
    {
        std::string_view suffix;
        uint64_t bytes;
    };
    constexpr Unit units[] = {{"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"B", 1}};
    std::string_view number = value;
    uint64_t scale = 1;
    for (const Unit& unit : units) {
        if (value.size() > unit.suffix.size() && util::endsWith(value, unit.suffix)) {
            number = value.substr(0, value.size() - unit.suffix.size());
            scale = unit.bytes;
            break;
        }
    }
    auto parsed = util::parseUnsigned(number);
    if (!parsed || *parsed > (1ull << 50) / scale) {
        xml::fail(d, line,
                  "bad value \"" + std::string(value) + "\" for attribute \"" + std::string(name) +
                      "\"; expected a size such as 512MiB, 2GiB or a number of bytes");
    }
    return *parsed * scale;
}

Isolation parseIsolation(const Document& d, int line, std::string_view value)
{
    if (value == "process") return Isolation::Process;
    if (value == "none") return Isolation::None;
    xml::fail(d, line,
              "bad value \"" + std::string(value) +
                  "\" for attribute \"isolation\"; expected \"process\" (worker processes, the default) or "
                  "\"none\" (in the server process)");
}

bool isIpAddress(const std::string& text)
{
    unsigned char buffer[16];
    return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
           ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

// ---- the tables -----------------------------------------------------------------------------------
// To add an attribute: add a field to the struct in ServerConfig.h and one line here.
// To add an element: add it to the checkChildren() list of its parent and a read function.

std::vector<Attribute<ServerConfig>> serverAttributes(const std::string& base)
{
    return {
        number("shutdownTimeout", &ServerConfig::shutdownTimeoutMs, 0, 3600000),
        path("logFile", &ServerConfig::logFile, base),
        {"logLevel",
         [](ServerConfig& c, std::string_view v, const Document& d, int line) {
             if (!util::parseLogLevel(v, c.logLevel)) {
                 xml::fail(
                     d, line,
                     "bad value \"" + std::string(v) +
                         "\" for attribute \"logLevel\"; expected one of: debug, info, warn, error, off");
             }
         }},
        path("accessLog", &ServerConfig::accessLog, base),
    };
}

std::vector<Attribute<ConnectorConfig>> connectorAttributes()
{
    constexpr uint32_t kHour = 3600000;
    return {
        {"address",
         [](ConnectorConfig& c, std::string_view v, const Document& d, int line) {
             c.address = std::string(v);
             if (!isIpAddress(c.address)) {
                 xml::fail(
                     d, line,
                     "bad value \"" + c.address +
                         "\" for attribute \"address\"; expected an IP address: 127.0.0.1 (this machine "
                         "only) or 0.0.0.0 / :: (every interface)");
             }
         }},
        number("port", &ConnectorConfig::port, 0, 65535),
        number("maxConnections", &ConnectorConfig::maxConnections, 1, 10000000),
        number("maxKeepAliveRequests", &ConnectorConfig::maxKeepAliveRequests),
        number("keepAliveTimeout", &ConnectorConfig::keepAliveTimeoutMs, 1, kHour),
        number("headerTimeout", &ConnectorConfig::headerTimeoutMs, 1, kHour),
        number("bodyTimeout", &ConnectorConfig::bodyTimeoutMs, 1, kHour),
        number("sendTimeout", &ConnectorConfig::sendTimeoutMs, 1, kHour),
        number("maxRequestLineSize", &ConnectorConfig::maxRequestLineSize, 64, 1024 * 1024),
        number("maxHeaderSize", &ConnectorConfig::maxHeaderSize, 256, 1024 * 1024),
        number("maxHeaderCount", &ConnectorConfig::maxHeaderCount, 1, 10000),
        number("maxBodySize", &ConnectorConfig::maxBodySize),
        number("maxBufferedBodySize", &ConnectorConfig::maxBufferedBodySize),
        number("ioThreads", &ConnectorConfig::ioThreads, 0, 1024),
        number("workerThreads", &ConnectorConfig::workerThreads, 1, 4096),
        number("workerQueue", &ConnectorConfig::workerQueue, 1, 10000000),
        text("serverHeader", &ConnectorConfig::serverHeader),
        number("drainTimeout", &ConnectorConfig::drainTimeoutMs, 0, kHour),
        flag("secure", &ConnectorConfig::secure),
        number("handshakeTimeout", &ConnectorConfig::handshakeTimeoutMs, 1, kHour),
        number("certificateCheckInterval", &ConnectorConfig::certificateCheckIntervalMs, 0, kHour),
        number("ticketKeyRotationInterval", &ConnectorConfig::ticketKeyRotationIntervalMs, 1000,
               7 * 24 * kHour),
        {"hsts",
         [](ConnectorConfig& c, std::string_view v, const Document& d, int line) {
             for (char ch : v) {
                 if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
                     xml::fail(d, line,
                               "bad value for attribute \"hsts\": control characters in a header value");
             }
             c.hsts = std::string(v);
         }},
        number("redirectPort", &ConnectorConfig::redirectPort, 1, 65535),
        {"redirect",
         [](ConnectorConfig& c, std::string_view v, const Document& d, int line) {
             if (v == "https") {
                 c.redirectAll = true;
             } else if (v != "none") {
                 xml::fail(d, line,
                           "bad value \"" + std::string(v) +
                               "\" for attribute \"redirect\"; expected https (every request goes to "
                               "https://host:redirectPort) or none");
             }
         }},
        {"compression",
         [](ConnectorConfig& c, std::string_view v, const Document& d, int line) {
             using Mode = http::CompressionSettings::Mode;
             if (v == "on") {
                 c.compression.mode = Mode::On;
             } else if (v == "off") {
                 c.compression.mode = Mode::Off;
             } else if (v == "force") {
                 c.compression.mode = Mode::Force;
             } else {
                 xml::fail(d, line,
                           "bad value \"" + std::string(v) +
                               "\" for attribute \"compression\"; expected \"on\" (compressible types of at "
                               "least compressionMinSize bytes, the default), \"off\" or \"force\" (every "
                               "response)");
             }
         }},
        {"compressionMinSize",
         [](ConnectorConfig& c, std::string_view v, const Document& d, int line) {
             c.compression.minSize = parseSize(d, line, "compressionMinSize", v);
         }},
        {"compressibleMimeType",
         [](ConnectorConfig& c, std::string_view v, const Document& d, int line) {
             c.compression.mimeTypes.clear();
             for (std::string_view type : util::splitList(v, ',')) {
                 size_t slash = type.find('/');
                 if (slash == 0 || slash == std::string_view::npos || slash + 1 == type.size() ||
                     type.find_first_of(" ;") != std::string_view::npos) {
                     xml::fail(
                         d, line,
                         "bad media type \"" + std::string(type) +
                             "\" in attribute \"compressibleMimeType\"; expected a comma-separated list "
                             "such as text/*,application/json,image/svg+xml");
                 }
                 c.compression.mimeTypes.emplace_back(util::toLower(type));
             }
         }},
        {"protocols",
         [](ConnectorConfig& c, std::string_view v, const Document& d, int line) {
             bool h1 = false;
             c.http2 = false;
             for (std::string_view protocol : util::splitList(v, ',')) {
                 if (protocol == "h2") {
                     c.http2 = true;
                 } else if (protocol == "http/1.1") {
                     h1 = true;
                 } else {
                     xml::fail(d, line,
                               "bad value \"" + std::string(v) +
                                   "\" for attribute \"protocols\"; expected a list of h2 and http/1.1");
                 }
             }
             if (!h1) xml::fail(d, line, "protocols=\"" + std::string(v) + "\" must include http/1.1");
         }},
        flag("h2c", &ConnectorConfig::h2c),
        number("http2MaxConcurrentStreams", &ConnectorConfig::http2MaxConcurrentStreams, 1, 10000),
        number("http2StreamWindow", &ConnectorConfig::http2StreamWindow, 65535, 2147483647),
        number("http2ConnectionWindow", &ConnectorConfig::http2ConnectionWindow, 65535, 2147483647),
        number("http2GlitchBudget", &ConnectorConfig::http2GlitchBudget, 1, 1000000),
        number("http2GlitchRate", &ConnectorConfig::http2GlitchRate, 0, 1000000),
    };
}

std::vector<Attribute<CertificateConfig>> certificateAttributes(const std::string& base)
{
    return {
        {"host",
         [](CertificateConfig& c, std::string_view v, const Document&, int) {
             c.hostNames.clear();
             for (std::string_view name : util::splitList(v, ','))
                 c.hostNames.emplace_back(util::toLower(name));
         }},
        path("certificateFile", &CertificateConfig::certificateFile, base),
        path("keyFile", &CertificateConfig::keyFile, base),
        path("chainFile", &CertificateConfig::chainFile, base),
        path("ocspStaple", &CertificateConfig::ocspStaple, base),
    };
}

/// <Certificate> children switch TLS on; secure= follows from them.
void readCertificates(const Document& d, const XMLElement& connector, ConnectorConfig& config,
                      const std::string& base)
{
    for (const XMLElement* e = connector.FirstChildElement("Certificate"); e;
         e = e->NextSiblingElement("Certificate")) {
        CertificateConfig certificate;
        xml::applyAttributes(d, *e, certificateAttributes(base), certificate);
        xml::checkChildren(d, *e, {});
        if (certificate.certificateFile.empty()) {
            xml::fail(d, *e,
                      "<Certificate> needs certificateFile=\"...\" (PEM) and keyFile=\"...\" unless the key "
                      "is in the same file");
        }
        certificate.where = d.displayName + ":" + std::to_string(e->GetLineNum());
        config.certificates.push_back(std::move(certificate));
    }
    if (!config.certificates.empty()) config.secure = true;
}

std::vector<Attribute<HostConfig>> hostAttributes(const std::string& base)
{
    constexpr uint32_t kHour = 3600000;
    return {
        text("name", &HostConfig::name),
        {"aliases",
         [](HostConfig& h, std::string_view v, const Document&, int) {
             h.aliases.clear();
             for (std::string_view alias : util::splitList(v, ','))
                 h.aliases.emplace_back(alias);
         }},
        path("appBase", &HostConfig::appBase, base),
        flag("deployOnStartup", &HostConfig::deployOnStartup),
        flag("autoDeploy", &HostConfig::autoDeploy),
        number("maxBundleEntries", &HostConfig::maxBundleEntries, 1),
        number("maxBundleBytes", &HostConfig::maxBundleBytes, 1),
        number("maxBundleFileSize", &HostConfig::maxBundleFileSize, 1),
        number("preflightTimeout", &HostConfig::preflightTimeoutMs, 1, kHour),
        number("deployStabilityDelay", &HostConfig::deployStabilityDelayMs, 0, kHour),
        {"accessLog",
         [base](HostConfig& h, std::string_view v, const Document&, int) { h.accessLog = resolve(base, v); }},
        {"isolation", [](HostConfig& h, std::string_view v, const Document& d,
                         int line) { h.isolation = parseIsolation(d, line, v); }},
        number("processes", &HostConfig::processes, 1, 256),
    };
}

std::vector<Attribute<ContextConfig>> contextAttributes()
{
    constexpr uint64_t kDay = 24ull * 3600000;
    auto duration = [](std::string_view name, uint32_t ContextConfig::*member, uint64_t min) {
        return Attribute<ContextConfig>{
            name, [name, member, min](ContextConfig& c, std::string_view v, const Document& d, int line) {
                uint64_t ms = xml::parseDuration(d, line, "attribute \"" + std::string(name) + "\"", v, kDay);
                if (ms < min) {
                    xml::fail(d, line,
                              "attribute \"" + std::string(name) + "\" must be at least " +
                                  std::to_string(min) + " ms");
                }
                c.*member = static_cast<uint32_t>(ms);
            }};
    };
    return {
        {"path",
         [](ContextConfig& c, std::string_view v, const Document& d, int line) {
             // ROOT is "/" or "".
             if (!v.empty() && (v.front() != '/' || (v.size() > 1 && v.back() == '/') ||
                                v.find("//") != std::string_view::npos)) {
                 xml::fail(d, line,
                           "bad value \"" + std::string(v) +
                               "\" for attribute \"path\"; expected a context path such as /shop "
                               "(\"\" for ROOT)");
             }
             c.path = v == "/" ? std::string() : std::string(v);
         }},
        {"isolation", [](ContextConfig& c, std::string_view v, const Document& d,
                         int line) { c.isolation = parseIsolation(d, line, v); }},
        {"processes",
         [](ContextConfig& c, std::string_view v, const Document& d, int line) {
             c.processes =
                 static_cast<uint32_t>(xml::parseNumber(d, line, "attribute \"processes\"", v, 1, 256));
         }},
        duration("requestTimeout", &ContextConfig::requestTimeoutMs, 1),
        {"memoryLimit", [](ContextConfig& c, std::string_view v, const Document& d,
                           int line) { c.memoryLimit = parseSize(d, line, "memoryLimit", v); }},
        number("maxRequestsPerProcess", &ContextConfig::maxRequestsPerProcess),
        text("user", &ContextConfig::user),
        number("maxThreads", &ContextConfig::maxThreads, 1, 4096),
        number("maxQueue", &ContextConfig::maxQueue, 0, 1000000),
        number("maxCrashes", &ContextConfig::maxCrashes, 1, 100000),
        duration("crashWindow", &ContextConfig::crashWindowMs, 1),
    };
}

std::vector<Attribute<DataSourceBinding>> dataSourceAttributes(const std::string& base)
{
    constexpr uint32_t kHour = 3600000;
    return {
        text("name", &DataSourceBinding::name),
        {"type",
         [](DataSourceBinding& b, std::string_view v, const Document& d, int line) {
             if (v != "sqlite" && v != "postgresql") {
                 xml::fail(d, line,
                           "bad value \"" + std::string(v) +
                               "\" for attribute \"type\"; expected sqlite (embedded) or postgresql");
             }
             b.type = std::string(v);
         }},
        text("url", &DataSourceBinding::url), // resolved once the type is known
        path("passwordFile", &DataSourceBinding::passwordFile, base),
        number("maxConnections", &DataSourceBinding::maxConnections, 1, 10000),
        duration("acquireTimeout", &DataSourceBinding::acquireTimeoutMs, kHour),
        duration("statementTimeout", &DataSourceBinding::statementTimeoutMs, kHour),
        duration("busyTimeout", &DataSourceBinding::busyTimeoutMs, kHour),
    };
}

std::vector<Attribute<EngineConfig>> engineAttributes()
{
    return {
        text("defaultHost", &EngineConfig::defaultHost),
        {"jvmRoute",
         [](EngineConfig& e, std::string_view v, const Document& d, int line) {
             bool ok = !v.empty() && v.size() <= 64;
             for (char c : v)
                 ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
             if (!ok) {
                 xml::fail(d, line,
                           "bad value \"" + std::string(v) +
                               "\" for attribute \"jvmRoute\"; use 1 to 64 letters, digits, '-' or '_' "
                               "(it is appended to session ids)");
             }
             e.jvmRoute = std::string(v);
         }},
    };
}

std::vector<Attribute<SessionStoreConfig>> sessionStoreAttributes(const std::string& base)
{
    constexpr uint32_t kMinute = 60000;
    constexpr uint32_t kDay = 24 * 60 * kMinute;
    return {
        {"store",
         [](SessionStoreConfig& s, std::string_view v, const Document& d, int line) {
             if (v == "sqlite") {
                 s.store = SessionStoreConfig::Store::Sqlite;
             } else if (v == "redis") {
                 s.store = SessionStoreConfig::Store::Redis;
             } else {
                 xml::fail(d, line,
                           "bad value \"" + std::string(v) +
                               "\" for attribute \"store\"; expected sqlite or redis");
             }
         }},
        path("path", &SessionStoreConfig::path, base),
        {"synchronous",
         [](SessionStoreConfig& s, std::string_view v, const Document& d, int line) {
             if (v != "full" && v != "normal") {
                 xml::fail(
                     d, line,
                     "bad value \"" + std::string(v) +
                         "\" for attribute \"synchronous\"; expected full (fsync every commit) or normal");
             }
             s.synchronousFull = v == "full";
         }},
        {"url",
         [](SessionStoreConfig& s, std::string_view v, const Document& d, int line) {
             if (!util::startsWith(v, "redis://") && !util::startsWith(v, "unix:///")) {
                 xml::fail(
                     d, line,
                     "bad value \"" + std::string(v) +
                         "\" for attribute \"url\"; expected redis://host:port/db or unix:///path/to/socket");
             }
             s.url = std::string(v);
         }},
        text("keyPrefix", &SessionStoreConfig::keyPrefix),
        number("connectTimeout", &SessionStoreConfig::connectTimeoutMs, 1, kMinute),
        number("commandTimeout", &SessionStoreConfig::commandTimeoutMs, 1, kMinute),
        number("maxConnections", &SessionStoreConfig::maxConnections, 1, 10000),
        flag("readCache", &SessionStoreConfig::readCache),
        number("touchInterval", &SessionStoreConfig::touchIntervalMs, 1, kMinute),
        number("busyTimeout", &SessionStoreConfig::busyTimeoutMs, 1, kMinute),
        number("sweepInterval", &SessionStoreConfig::sweepIntervalMs, 1000, kDay),
    };
}

/// <Host><Manager>: the host's session store.
void readSessionStore(const Document& d, const XMLElement& host, const std::string& base, HostConfig& config)
{
    const XMLElement* manager = host.FirstChildElement("Manager");
    if (manager == nullptr) return;
    if (const XMLElement* second = manager->NextSiblingElement("Manager")) {
        xml::fail(d, *second, "only one <Manager> (session store) is allowed per <Host>");
    }
    SessionStoreConfig& s = config.sessions;
    s.line = manager->GetLineNum();
    xml::applyAttributes(d, *manager, sessionStoreAttributes(base), s);
    xml::checkChildren(d, *manager, {});
    bool redis = s.store == SessionStoreConfig::Store::Redis;
    if (redis && s.url.empty()) {
        xml::fail(d, *manager, "store=\"redis\" needs a url, for example url=\"redis://127.0.0.1:6379/0\"");
    }
    if (!redis && !s.url.empty()) {
        xml::fail(d, *manager,
                  "url is for store=\"redis\"; the SQLite store takes path=\"data/sessions.db\"");
    }
}

std::vector<Attribute<ManagerConfig>> managerAttributes()
{
    return {text("path", &ManagerConfig::path),
            text("allow", &ManagerConfig::allow),
            flag("enabled", &ManagerConfig::enabled),
            number("sessionTimeout", &ManagerConfig::sessionTimeout, 60, 7 * 24 * 3600),
            text("metricsToken", &ManagerConfig::metricsToken),
            number("maxUploadSize", &ManagerConfig::maxUploadSize, 1),
            {"deployRoots", [](ManagerConfig& m, std::string_view v, const Document& d, int line) {
                 m.deployRoots.clear();
                 for (std::string_view root : util::splitList(v, ',')) {
                     auto normalized = util::normalizeUriPath(root);
                     if (root.front() != '/' || !normalized || *normalized != root) {
                         xml::fail(d, line,
                                   "bad value \"" + std::string(root) +
                                       "\" in attribute \"deployRoots\"; expected absolute directories "
                                       "such as /srv/bundles, separated by commas");
                     }
                     m.deployRoots.emplace_back(root);
                 }
             }}};
}

// ---- readers ----------------------------------------------------------------------------------------

DataSourceBinding readDataSource(const Document& d, const XMLElement& e, const std::string& base)
{
    DataSourceBinding b;
    b.line = e.GetLineNum();
    xml::applyAttributes(d, e, dataSourceAttributes(base), b);
    xml::checkChildren(d, e, {});
    if (!xml::isDataSourceName(b.name)) {
        xml::fail(d, e,
                  "<DataSource> needs a name=\"...\" of letters, digits, '_' and '-' (the res-ref-name "
                  "of the app's web.xml, for example main)");
    }
    if (b.type == "postgresql") {
        if (!util::startsWith(b.url, "postgresql://") && !util::startsWith(b.url, "postgres://")) {
            xml::fail(d, e,
                      "<DataSource name=\"" + b.name +
                          "\" type=\"postgresql\"> needs url=\"postgresql://user@host:port/database\"");
        }
        // A password in the URL would end up in logs and on the admin page.
        std::string_view authority = std::string_view(b.url).substr(b.url.find("//") + 2);
        authority = authority.substr(0, authority.find_first_of("/?"));
        size_t at = authority.rfind('@');
        if (at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos) {
            xml::fail(d, e,
                      "<DataSource name=\"" + b.name +
                          "\"> has a password in its url; put it in a file named by passwordFile=\"...\"");
        }
    } else {
        if (!b.passwordFile.empty()) {
            xml::fail(d, e, "passwordFile is for type=\"postgresql\"; an embedded SQLite database has none");
        }
        b.url = resolve(base, b.url);
    }
    return b;
}

ContextConfig readContext(const Document& d, const XMLElement& e, const std::string& base)
{
    ContextConfig c;
    c.line = e.GetLineNum();
    if (e.Attribute("path") == nullptr) {
        xml::fail(
            d, e,
            "<Context> needs a path=\"...\": the context path of the app it configures (\"\" for ROOT)");
    }
    xml::applyAttributes(d, e, contextAttributes(), c);
    xml::checkChildren(d, e, {"DataSource"});
    for (const XMLElement* s = e.FirstChildElement("DataSource"); s;
         s = s->NextSiblingElement("DataSource")) {
        DataSourceBinding binding = readDataSource(d, *s, base);
        if (const DataSourceBinding* other = c.dataSource(binding.name)) {
            xml::fail(d, *s,
                      "data source \"" + binding.name +
                          "\" is bound twice in this <Context> (first at line " +
                          std::to_string(other->line) + ")");
        }
        c.dataSources.push_back(std::move(binding));
    }
    return c;
}

void readEngine(const Document& d, const XMLElement& element, ServerConfig& config)
{
    xml::applyAttributes(d, element, engineAttributes(), config.engine);
    xml::checkChildren(d, element, {"Host"});
    std::set<std::string> names;
    for (const XMLElement* h = element.FirstChildElement("Host"); h; h = h->NextSiblingElement("Host")) {
        HostConfig host;
        host.appBase = resolve(config.base, "webapps");
        host.line = h->GetLineNum();
        host.sessions.path = resolve(config.base, host.sessions.path);
        xml::applyAttributes(d, *h, hostAttributes(config.base), host);
        xml::checkChildren(d, *h, {"Manager", "Context"});
        readSessionStore(d, *h, config.base, host);
        for (const XMLElement* c = h->FirstChildElement("Context"); c; c = c->NextSiblingElement("Context")) {
            ContextConfig context = readContext(d, *c, config.base);
            if (const ContextConfig* other = host.context(context.path)) {
                xml::fail(d, *c,
                          "<Context path=\"" + (context.path.empty() ? std::string("/") : context.path) +
                              "\"> is declared twice on this host (line " + std::to_string(other->line) +
                              ")");
            }
            host.contexts.push_back(std::move(context));
        }
        if (host.name.empty()) xml::fail(d, *h, "<Host> needs a name, for example name=\"localhost\"");
        std::vector<std::string> all = host.aliases;
        all.push_back(host.name);
        for (const std::string& n : all) {
            if (!names.insert(util::toLower(n)).second) {
                xml::fail(d, *h,
                          "host name \"" + n + "\" is declared twice; each name or alias must be unique");
            }
        }
        config.engine.hosts.push_back(std::move(host));
    }
    if (config.engine.hosts.empty()) {
        xml::fail(d, element, "<Engine> needs at least one <Host name=\"localhost\" appBase=\"webapps\"/>");
    }
    if (names.count(util::toLower(config.engine.defaultHost)) == 0) {
        xml::fail(d, element,
                  "defaultHost \"" + config.engine.defaultHost +
                      "\" is not the name of a <Host> below; set it to one of them");
    }
}

} // namespace

const char* isolationName(Isolation isolation) noexcept
{
    return isolation == Isolation::None ? "none" : "process";
}

ContextConfig HostConfig::contextFor(const std::string& path) const
{
    ContextConfig out;
    for (const ContextConfig& c : contexts) {
        if (c.path == path) out = c;
    }
    out.path = path;
    if (!out.isolation) out.isolation = isolation;
    if (!out.processes) out.processes = processes;
    return out;
}

ServerConfig readServerConfig(const std::string& path, const std::string& base,
                              const std::string& displayName)
{
    Document d;
    d.displayName = displayName;
    xml::load(d, path);
    const XMLElement& root = *d.doc.RootElement();
    if (std::string_view(root.Name()) != "Server") {
        xml::fail(d, root, "the root element is <" + std::string(root.Name()) + ">; expected <Server>");
    }

    ServerConfig config;
    config.base = base;
    config.source = displayName;
    config.logFile = resolve(base, config.logFile);
    config.accessLog = resolve(base, config.accessLog);
    xml::applyAttributes(d, root, serverAttributes(base), config);
    xml::checkChildren(d, root, {"Connector", "Engine", "Manager"});

    for (const XMLElement* c = root.FirstChildElement("Connector"); c;
         c = c->NextSiblingElement("Connector")) {
        ConnectorConfig connector;
        xml::applyAttributes(d, *c, connectorAttributes(), connector);
        xml::checkChildren(d, *c, {"Certificate"});
        readCertificates(d, *c, connector, base);
        const bool tls = !connector.certificates.empty();
        if (!connector.hsts.empty() && !tls)
            xml::fail(d, *c,
                      "hsts= needs a TLS connector (<Certificate> children): browsers ignore it over http");
        if (connector.redirectAll && (tls || connector.redirectPort == 0)) {
            xml::fail(d, *c,
                      "redirect=\"https\" belongs on a plain connector, with redirectPort=\"...\" naming the "
                      "TLS connector's port");
        }
        config.connectors.push_back(std::move(connector));
    }
    if (config.connectors.empty()) {
        xml::fail(d, root, "<Server> needs at least one <Connector address=\"127.0.0.1\" port=\"8080\"/>");
    }

    const XMLElement* engine = root.FirstChildElement("Engine");
    if (engine == nullptr)
        xml::fail(d, root, "<Server> needs an <Engine defaultHost=\"localhost\"> with <Host> elements");
    if (const XMLElement* second = engine->NextSiblingElement("Engine")) {
        xml::fail(d, *second, "only one <Engine> is allowed");
    }
    readEngine(d, *engine, config);

    if (const XMLElement* manager = root.FirstChildElement("Manager")) {
        config.manager.present = true;
        xml::applyAttributes(d, *manager, managerAttributes(), config.manager);
        xml::checkChildren(d, *manager, {});
        if (manager->NextSiblingElement("Manager")) xml::fail(d, *manager, "only one <Manager> is allowed");
        if (config.manager.path.size() < 2 || config.manager.path.front() != '/' ||
            config.manager.path.back() == '/') {
            xml::fail(d, *manager,
                      "bad value \"" + config.manager.path +
                          "\" for attribute \"path\"; expected a path such as /manager");
        }
    }
    return config;
}

ServerConfig defaultServerConfig(const std::string& base)
{
    ServerConfig config;
    config.base = base;
    config.source = "(built-in defaults)";
    config.logFile = resolve(base, config.logFile);
    config.accessLog = resolve(base, config.accessLog);
    config.connectors.emplace_back();
    HostConfig host;
    host.appBase = resolve(base, "webapps");
    host.sessions.path = resolve(base, host.sessions.path);
    config.engine.hosts.push_back(host);
    return config;
}

} // namespace serval::config
