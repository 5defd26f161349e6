#include "config/ConfigError.h"
#include "config/WebAppConfig.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>

using namespace serval;

namespace {

std::string error(const std::string& xml)
{
    try {
        config::parseWebXml(xml);
    } catch (const config::ConfigError& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST(WebXmlTest, ReadsEverySupportedElement)
{
    auto c = config::parseWebXml(R"(<?xml version="1.0"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="x" version="5.0">
  <display-name>Shop</display-name>
  <description>ignored</description>
  <context-param><param-name>mode</param-name><param-value>live</param-value></context-param>
  <servlet>
    <servlet-name>cart</servlet-name>
    <servlet-class>CartServlet</servlet-class>
    <init-param><param-name>size</param-name><param-value>3</param-value></init-param>
    <load-on-startup>2</load-on-startup>
  </servlet>
  <servlet><servlet-name>root</servlet-name><servlet-class>Root</servlet-class></servlet>
  <servlet-mapping><servlet-name>cart</servlet-name><url-pattern>/cart/*</url-pattern><url-pattern>*.do</url-pattern></servlet-mapping>
  <servlet-mapping><servlet-name>root</servlet-name><url-pattern></url-pattern></servlet-mapping>
  <filter><filter-name>log</filter-name><filter-class>LogFilter</filter-class></filter>
  <filter-mapping><filter-name>log</filter-name><url-pattern>/*</url-pattern><dispatcher>REQUEST</dispatcher><dispatcher>ERROR</dispatcher></filter-mapping>
  <filter-mapping><filter-name>log</filter-name><servlet-name>cart</servlet-name></filter-mapping>
  <listener><listener-class>Startup</listener-class></listener>
  <welcome-file-list><welcome-file>home.html</welcome-file><welcome-file>index.html</welcome-file></welcome-file-list>
  <error-page><error-code>404</error-code><location>/404.html</location></error-page>
  <mime-mapping><extension>WASM</extension><mime-type>application/wasm</mime-type></mime-mapping>
  <session-config><session-timeout>15</session-timeout></session-config>
  <security-constraint>
    <web-resource-collection><web-resource-name>admin</web-resource-name><url-pattern>/admin/*</url-pattern><http-method>POST</http-method></web-resource-collection>
    <auth-constraint><role-name>admin</role-name></auth-constraint>
    <user-data-constraint><transport-guarantee>CONFIDENTIAL</transport-guarantee></user-data-constraint>
  </security-constraint>
  <login-config><auth-method>FORM</auth-method><form-login-config><form-login-page>/login</form-login-page><form-error-page>/err</form-error-page></form-login-config></login-config>
  <security-role><role-name>admin</role-name></security-role>
  <data-source><name>orders</name><migrations>db/</migrations></data-source>
</web-app>)");
    EXPECT_EQ(c.displayName, "Shop");
    EXPECT_EQ(c.contextParams.at("mode"), "live");
    ASSERT_EQ(c.servlets.size(), 2u);
    EXPECT_EQ(c.servlets[0].className, "CartServlet");
    EXPECT_EQ(c.servlets[0].initParams.at("size"), "3");
    EXPECT_EQ(c.servlets[0].loadOnStartup, 2);
    EXPECT_FALSE(c.servlets[1].loadOnStartup);
    ASSERT_EQ(c.servletMappings.size(), 2u);
    EXPECT_EQ(c.servletMappings[0].urlPatterns, (std::vector<std::string>{"/cart/*", "*.do"}));
    EXPECT_EQ(c.servletMappings[1].urlPatterns, (std::vector<std::string>{""}));
    ASSERT_EQ(c.filterMappings.size(), 2u);
    EXPECT_TRUE(c.filterMappings[0].onRequest);
    EXPECT_TRUE(c.filterMappings[0].onError);
    EXPECT_TRUE(c.filterMappings[1].onRequest);
    EXPECT_FALSE(c.filterMappings[1].onError);
    EXPECT_EQ(c.filterMappings[1].servletNames, (std::vector<std::string>{"cart"}));
    EXPECT_EQ(c.listeners, (std::vector<std::string>{"Startup"}));
    EXPECT_EQ(c.welcomeFiles, (std::vector<std::string>{"home.html", "index.html"}));
    EXPECT_EQ(c.errorPages.at(404), "/404.html");
    EXPECT_EQ(c.mimeMappings.at("wasm"), "application/wasm");
    EXPECT_EQ(c.sessionTimeoutMinutes, 15);
    ASSERT_EQ(c.securityConstraints.size(), 1u);
    EXPECT_EQ(c.securityConstraints[0].roles, (std::vector<std::string>{"admin"}));
    EXPECT_EQ(c.securityConstraints[0].collections[0].httpMethods, (std::vector<std::string>{"POST"}));
    EXPECT_EQ(c.securityConstraints[0].transportGuarantee, "CONFIDENTIAL");
    ASSERT_TRUE(c.loginConfig);
    EXPECT_EQ(c.loginConfig->formLoginPage, "/login");
    EXPECT_EQ(c.securityRoles, (std::vector<std::string>{"admin"}));
    ASSERT_EQ(c.dataSources.size(), 1u);
    EXPECT_EQ(c.dataSources[0].name, "orders");
    EXPECT_EQ(c.dataSources[0].properties.at("migrations"), "db/");
}

TEST(WebXmlTest, ErrorsNameFileAndLine)
{
    EXPECT_EQ(error("<web-app>\n<servlet-mapping><servlet-name>x</servlet-name><url-pattern>/x</"
                    "url-pattern></servlet-mapping></web-app>"),
              "WEB-INF/web.xml:2: <servlet-mapping> names servlet \"x\", which no <servlet> declares");
    EXPECT_EQ(
        error("<web-app>\n<servlet><servlet-name>a</servlet-name><servlet-class>A</servlet-class></servlet>\n"
              "<servlet-mapping><servlet-name>a</servlet-name>\n<url-pattern>/a*</url-pattern></"
              "servlet-mapping></web-app>"),
        "WEB-INF/web.xml:4: invalid url-pattern \"/a*\"; use \"/exact\", \"/prefix/*\", \"*.ext\", \"/\" or "
        "\"\"");
    EXPECT_EQ(error("<web-app>\n  <servlett/></web-app>")
                  .rfind("WEB-INF/web.xml:2: unknown element <servlett> in <web-app>; expected one of:", 0),
              0u);
    EXPECT_EQ(error("<web-app>\n<servlet><servlet-name>a</servlet-name></servlet></web-app>"),
              "WEB-INF/web.xml:2: <servlet> needs a <servlet-class>");
    EXPECT_EQ(error("<web-app>\n<servlet><servlet-name>a</servlet-name><servlet-class>A</"
                    "servlet-class>\n<load-on-startup>soon</load-on-startup></servlet></web-app>"),
              "WEB-INF/web.xml:3: bad value \"soon\" for <load-on-startup>; expected a whole number");
    EXPECT_EQ(
        error("<web-app>\n<error-page><error-code>200</error-code><location>/x</location></error-page></"
              "web-app>"),
        "WEB-INF/web.xml:2: bad value \"200\" for <error-code>; expected a whole number from 400 to 599");
    EXPECT_EQ(error("<web-app>\n<error-page><error-code>404</error-code><location>x.html</location></"
                    "error-page></web-app>"),
              "WEB-INF/web.xml:2: <location> \"x.html\" must start with '/' (a path inside the app)");
    EXPECT_EQ(error("<web-app>\n<filter><filter-name>f</filter-name><filter-class>F</filter-class></filter>\n"
                    "<filter-mapping><filter-name>f</filter-name><url-pattern>/*</"
                    "url-pattern>\n<dispatcher>FORWARD</dispatcher></filter-mapping></web-app>"),
              "WEB-INF/web.xml:4: dispatcher \"FORWARD\" is not supported; use REQUEST or ERROR");
    EXPECT_EQ(
        error("<web-app>\n<servlet><servlet-name>a</servlet-name><servlet-class>A</servlet-class></servlet>\n"
              "<servlet><servlet-name>a</servlet-name><servlet-class>B</servlet-class></servlet></web-app>"),
        "WEB-INF/web.xml:3: servlet \"a\" is declared twice (first at line 2)");
    EXPECT_EQ(
        error(
            "<web-app><servlet><servlet-name>a</servlet-name><servlet-class>A</servlet-class></servlet>\n"
            "<servlet-mapping><servlet-name>a</servlet-name><url-pattern>/a</url-pattern></servlet-mapping>\n"
            "<servlet-mapping><servlet-name>default</servlet-name><url-pattern>/a</url-pattern></"
            "servlet-mapping></web-app>"),
        "WEB-INF/web.xml:3: url-pattern \"/a\" is already mapped to servlet \"a\" (line 2); map each pattern "
        "once");
    EXPECT_EQ(error("<web-app version=\"5\" colour=\"red\"/>")
                  .rfind("WEB-INF/web.xml:1: unknown attribute \"colour\" on <web-app>", 0),
              0u);
    EXPECT_EQ(error("<webapp/>"), "WEB-INF/web.xml:1: the root element is <webapp>; expected <web-app>");
    EXPECT_NE(error("<web-app>\n<display-name>x</web-app>").find("malformed XML"), std::string::npos);
}

TEST(WebXmlTest, MappingToTheContainerDefaultServletIsAllowed)
{
    auto c =
        config::parseWebXml("<web-app><servlet-mapping><servlet-name>default</servlet-name><url-pattern>/"
                            "static/*</url-pattern></servlet-mapping></web-app>");
    EXPECT_EQ(c.servletMappings.size(), 1u);
}

TEST(WebXmlTest, MergePutsDefaultsUnderTheApp)
{
    auto defaults = config::parseWebXml(R"(<web-app>
  <context-param><param-name>a</param-name><param-value>default</param-value></context-param>
  <context-param><param-name>b</param-name><param-value>default</param-value></context-param>
  <servlet><servlet-name>status</servlet-name><servlet-class>Status</servlet-class></servlet>
  <servlet-mapping><servlet-name>status</servlet-name><url-pattern>/status</url-pattern><url-pattern>/health</url-pattern></servlet-mapping>
  <welcome-file-list><welcome-file>index.html</welcome-file><welcome-file>index.htm</welcome-file></welcome-file-list>
  <error-page><error-code>404</error-code><location>/default404.html</location></error-page>
  <error-page><error-code>500</error-code><location>/default500.html</location></error-page>
  <mime-mapping><extension>html</extension><mime-type>text/html</mime-type></mime-mapping>
  <mime-mapping><extension>txt</extension><mime-type>text/plain</mime-type></mime-mapping>
  <session-config><session-timeout>30</session-timeout></session-config>
</web-app>)",
                                        "conf/web.xml");
    auto app = config::parseWebXml(R"(<web-app>
  <context-param><param-name>a</param-name><param-value>app</param-value></context-param>
  <servlet><servlet-name>health</servlet-name><servlet-class>Health</servlet-class></servlet>
  <servlet-mapping><servlet-name>health</servlet-name><url-pattern>/health</url-pattern></servlet-mapping>
  <welcome-file-list><welcome-file>start.html</welcome-file></welcome-file-list>
  <error-page><error-code>404</error-code><location>/mine.html</location></error-page>
  <mime-mapping><extension>txt</extension><mime-type>text/x-app</mime-type></mime-mapping>
</web-app>)");
    auto m = config::mergeWebXml(defaults, app);
    EXPECT_EQ(m.source, "WEB-INF/web.xml");
    EXPECT_EQ(m.contextParams.at("a"), "app");
    EXPECT_EQ(m.contextParams.at("b"), "default");
    ASSERT_EQ(m.servlets.size(), 2u);
    ASSERT_EQ(m.servletMappings.size(), 2u);
    EXPECT_EQ(m.servletMappings[0].servletName, "status");
    EXPECT_EQ(m.servletMappings[0].urlPatterns, (std::vector<std::string>{"/status"})); // /health: the app's
    EXPECT_EQ(m.servletMappings[1].servletName, "health");
    EXPECT_EQ(m.welcomeFiles, (std::vector<std::string>{"start.html"}));
    EXPECT_EQ(m.errorPages.at(404), "/mine.html");
    EXPECT_EQ(m.errorPages.at(500), "/default500.html");
    EXPECT_EQ(m.mimeMappings.at("txt"), "text/x-app");
    EXPECT_EQ(m.mimeMappings.at("html"), "text/html");
    EXPECT_EQ(m.sessionTimeoutMinutes, 30);

    auto bare = config::mergeWebXml(defaults, config::parseWebXml("<web-app/>"));
    EXPECT_EQ(bare.welcomeFiles, (std::vector<std::string>{"index.html", "index.htm"}));
}

TEST(WebXmlTest, ReadFromFileUsesDisplayName)
{
    test::TempDir dir;
    dir.write("WEB-INF/web.xml", "<web-app>\n<bogus/></web-app>");
    try {
        config::readWebXml(dir.file("WEB-INF/web.xml"), "shop/WEB-INF/web.xml");
        FAIL();
    } catch (const config::ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("shop/WEB-INF/web.xml:2: unknown element <bogus>", 0), 0u)
            << e.what();
    }
}

TEST(WebXmlTest, ResourceRefsDeclareDataSources)
{
    auto c = config::parseWebXml(R"(<web-app>
  <resource-ref>
    <description>the shop's tables</description>
    <res-ref-name>main</res-ref-name>
    <res-type>javax.sql.DataSource</res-type>
    <res-auth>Container</res-auth>
  </resource-ref>
  <resource-ref><res-ref-name>audit</res-ref-name></resource-ref>
  <data-source><name>cache</name></data-source>
</web-app>)");
    ASSERT_EQ(c.dataSources.size(), 3u);
    EXPECT_EQ(c.dataSources[0].name, "main"); // declaration order: the first gets WEB-INF/migrations/
    EXPECT_EQ(c.dataSources[0].line, 2);
    EXPECT_EQ(c.dataSources[1].name, "audit");
    EXPECT_EQ(c.dataSources[2].name, "cache");
}

TEST(WebXmlTest, ResourceRefMistakesAreRefused)
{
    EXPECT_EQ(
        error("<web-app>\n<resource-ref><res-ref-name>jdbc/main</res-ref-name></resource-ref></web-app>"),
        "WEB-INF/web.xml:2: data source name \"jdbc/main\" may hold only letters, digits, '_' and '-', "
        "at most 64 (it names a file; there is no JNDI tree: write main, not jdbc/main)");
    EXPECT_EQ(error("<web-app>\n<resource-ref><res-ref-name>mail</res-ref-name><res-type>javax.mail.Session"
                    "</res-type></resource-ref></web-app>"),
              "WEB-INF/web.xml:2: <res-type> \"javax.mail.Session\" is not provided by this container; only "
              "data sources (javax.sql.DataSource) are");
    EXPECT_EQ(error("<web-app>\n<resource-ref><res-ref-name>main</res-ref-name></resource-ref>\n"
                    "<data-source><name>main</name></data-source></web-app>"),
              "WEB-INF/web.xml:3: data source \"main\" is declared twice (first at line 2)");
    EXPECT_EQ(
        error("<web-app>\n<resource-ref><res-type>javax.sql.DataSource</res-type></resource-ref></web-app>"),
        "WEB-INF/web.xml:2: <resource-ref> needs a <res-ref-name>");
}

TEST(WebXmlTest, SessionConfigReadsTheCookieSettings)
{
    auto c = config::parseWebXml(R"(<web-app>
  <session-config>
    <session-timeout>45</session-timeout>
    <cookie-config>
      <name>SHOPSESSION</name><path>/shop/account</path><http-only>false</http-only>
      <secure>true</secure><same-site>strict</same-site>
    </cookie-config>
    <tracking-mode>COOKIE</tracking-mode>
  </session-config>
</web-app>)");
    EXPECT_EQ(c.sessionTimeoutMinutes, 45);
    EXPECT_EQ(c.sessionCookie.name, "SHOPSESSION");
    EXPECT_EQ(c.sessionCookie.path, "/shop/account");
    EXPECT_EQ(c.sessionCookie.httpOnly, false);
    EXPECT_EQ(c.sessionCookie.secure, true);
    EXPECT_EQ(c.sessionCookie.sameSite, "Strict");

    auto servlet6 = config::parseWebXml("<web-app><session-config><cookie-config><attribute><attribute-name>"
                                        "SameSite</attribute-name><attribute-value>None</attribute-value>"
                                        "</attribute></cookie-config></session-config></web-app>");
    EXPECT_EQ(servlet6.sessionCookie.sameSite, "None");
    EXPECT_FALSE(servlet6.sessionCookie.secure); // unset: Secure follows the request

    auto bare = config::parseWebXml("<web-app><session-config/></web-app>");
    EXPECT_FALSE(bare.sessionCookie.name);
    EXPECT_FALSE(bare.sessionTimeoutMinutes);
}

TEST(WebXmlTest, SessionConfigRefusesWhatWouldWeakenTheCookie)
{
    EXPECT_EQ(
        error("<web-app><session-config>\n<tracking-mode>URL</tracking-mode></session-config></web-app>")
            .rfind("WEB-INF/web.xml:2: tracking mode \"URL\" is not supported; Serval tracks sessions by "
                   "cookie only",
                   0),
        0u);
    EXPECT_EQ(
        error("<web-app><session-config><cookie-config>\n<name>a b</name></cookie-config></session-config>"
              "</web-app>")
            .rfind("WEB-INF/web.xml:2: bad cookie <name> \"a b\"", 0),
        0u);
    EXPECT_EQ(
        error("<web-app><session-config><cookie-config>\n<path>shop</path></cookie-config></session-config>"
              "</web-app>")
            .rfind("WEB-INF/web.xml:2: bad cookie <path> \"shop\"", 0),
        0u);
    EXPECT_EQ(
        error("<web-app><session-config><cookie-config>\n<same-site>Sometimes</same-site></cookie-config>"
              "</session-config></web-app>"),
        "WEB-INF/web.xml:2: bad SameSite value \"Sometimes\"; expected Strict, Lax or None");
    EXPECT_EQ(
        error("<web-app><session-config>\n<cookie-config><same-site>None</same-site><secure>false</secure>"
              "</cookie-config></session-config></web-app>")
            .rfind("WEB-INF/web.xml:2: SameSite=None needs a Secure cookie", 0),
        0u);
    EXPECT_EQ(error("<web-app><session-config><cookie-config>\n<attribute><attribute-name>Partitioned</"
                    "attribute-name><attribute-value>true</attribute-value></attribute></cookie-config>"
                    "</session-config></web-app>")
                  .rfind("WEB-INF/web.xml:2: cookie attribute \"Partitioned\" is not supported", 0),
              0u);
    EXPECT_EQ(error("<web-app><session-config><cookie-config>\n<domain>example.com</domain></cookie-config>"
                    "</session-config></web-app>")
                  .rfind("WEB-INF/web.xml:2: unknown element <domain> in <cookie-config>", 0),
              0u);
}

TEST(WebXmlTest, MergeTakesEachSessionCookieSettingFromTheAppElseTheDefaults)
{
    auto defaults =
        config::parseWebXml("<web-app><session-config><cookie-config><name>SITE</name>"
                            "<same-site>Strict</same-site></cookie-config></session-config></web-app>");
    auto app = config::parseWebXml("<web-app><session-config><cookie-config><name>APP</name>"
                                   "<http-only>false</http-only></cookie-config></session-config></web-app>");
    auto m = config::mergeWebXml(defaults, app);
    EXPECT_EQ(m.sessionCookie.name, "APP");
    EXPECT_EQ(m.sessionCookie.sameSite, "Strict");
    EXPECT_EQ(m.sessionCookie.httpOnly, false);
    EXPECT_FALSE(m.sessionCookie.secure);
}

TEST(WebXmlTest, MultipartConfigOfAServlet)
{
    auto c = config::parseWebXml(
        R"(<web-app><servlet><servlet-name>up</servlet-name><servlet-class>Up</servlet-class>
  <multipart-config><location>/tmp</location><max-file-size>1048576</max-file-size>
  <max-request-size>2097152</max-request-size><file-size-threshold>0</file-size-threshold></multipart-config>
</servlet></web-app>)");
    ASSERT_TRUE(c.servlets[0].multipart);
    EXPECT_EQ(c.servlets[0].multipart->maxFileSize, 1048576);
    EXPECT_EQ(c.servlets[0].multipart->maxRequestSize, 2097152);
    EXPECT_FALSE(config::parseWebXml("<web-app><servlet><servlet-name>a</servlet-name><servlet-class>A"
                                     "</servlet-class></servlet></web-app>")
                     .servlets[0]
                     .multipart);
    EXPECT_THROW(
        config::parseWebXml("<web-app><servlet><servlet-name>a</servlet-name><servlet-class>A</servlet-class>"
                            "<multipart-config><max-file-size>-5</max-file-size></multipart-config>"
                            "</servlet></web-app>"),
        config::ConfigError);
    EXPECT_THROW(
        config::parseWebXml("<web-app><servlet><servlet-name>a</servlet-name><servlet-class>A</servlet-class>"
                            "<multipart-config><max-size>5</max-size></multipart-config>"
                            "</servlet></web-app>"),
        config::ConfigError);
}

TEST(WebXmlTest, MergeLetsTheAppsMappingOfAServletReplaceTheDefaults)
{
    auto defaults = config::parseWebXml(R"(<web-app>
  <servlet><servlet-name>home</servlet-name><servlet-class>Home</servlet-class></servlet>
  <servlet-mapping><servlet-name>home</servlet-name><url-pattern>/home</url-pattern></servlet-mapping>
  <listener><listener-class>L</listener-class></listener>
</web-app>)");
    auto app = config::parseWebXml(R"(<web-app>
  <servlet><servlet-name>home</servlet-name><servlet-class>Home</servlet-class></servlet>
  <servlet-mapping><servlet-name>home</servlet-name><url-pattern>/start</url-pattern></servlet-mapping>
  <listener><listener-class>L</listener-class></listener>
</web-app>)");
    auto m = config::mergeWebXml(defaults, app);
    ASSERT_EQ(m.servletMappings.size(), 1u);
    EXPECT_EQ(m.servletMappings[0].urlPatterns, (std::vector<std::string>{"/start"}));
    EXPECT_EQ(m.listeners, (std::vector<std::string>{"L"})); // once
}
