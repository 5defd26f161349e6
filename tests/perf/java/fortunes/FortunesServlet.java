// The Java side of the benchmark's `db` and `fortunes` workloads: the TechEmpower tests as a
// Tomcat servlet on JDBC, the same answers as Serval's sdk/examples/fortunes. The connections come
// from a pooled container DataSource (Tomcat's DBCP, java:comp/env/jdbc/main, declared in
// META-INF/context.xml with Debian's libpostgresql-jdbc-java), one round trip per row. tests/perf/run
// compiles it against Tomcat's servlet-api.jar and deploys it as the `fortunes` webapp.
package bench;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import javax.naming.InitialContext;
import javax.naming.NamingException;
import javax.sql.DataSource;

public class FortunesServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private transient DataSource dataSource;

    @Override
    public void init() throws ServletException {
        try {
            dataSource = (DataSource) new InitialContext().lookup("java:comp/env/jdbc/main");
        } catch (NamingException e) {
            throw new ServletException("no jdbc/main in META-INF/context.xml", e);
        }
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        try (Connection db = dataSource.getConnection()) {
            byte[] body;
            if ("/fortunes".equals(request.getServletPath())) {
                body = fortunes(db);
                response.setContentType("text/html; charset=utf-8");
            } else {
                body = world(db);
                response.setContentType("application/json");
            }
            response.setContentLength(body.length);
            response.getOutputStream().write(body);
        } catch (SQLException e) {
            response.sendError(500, e.getMessage());
        }
    }

    /** GET /db: one random World row as {"id":N,"randomNumber":M}. */
    private static byte[] world(Connection db) throws SQLException {
        int id = ThreadLocalRandom.current().nextInt(1, 10001);
        try (PreparedStatement statement = db.prepareStatement("SELECT randomnumber FROM world WHERE id = ?")) {
            statement.setInt(1, id);
            try (ResultSet rows = statement.executeQuery()) {
                int number = rows.next() ? rows.getInt(1) : 0;
                return ("{\"id\":" + id + ",\"randomNumber\":" + number + "}").getBytes(StandardCharsets.US_ASCII);
            }
        }
    }

    private record Fortune(int id, String message) {}

    /** GET /fortunes: every row plus one added now, sorted by message, as an escaped HTML table. */
    private static byte[] fortunes(Connection db) throws SQLException {
        List<Fortune> fortunes = new ArrayList<>(16);
        try (PreparedStatement statement = db.prepareStatement("SELECT id, message FROM fortune");
             ResultSet rows = statement.executeQuery()) {
            while (rows.next()) fortunes.add(new Fortune(rows.getInt(1), rows.getString(2)));
        }
        fortunes.add(new Fortune(0, "Additional fortune added at request time."));
        fortunes.sort((a, b) -> a.message().compareTo(b.message()));
        StringBuilder html = new StringBuilder(2048);
        html.append("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
                    + "<tr><th>id</th><th>message</th></tr>");
        for (Fortune f : fortunes) {
            html.append("<tr><td>").append(f.id()).append("</td><td>");
            escape(html, f.message());
            html.append("</td></tr>");
        }
        html.append("</table></body></html>");
        return html.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void escape(StringBuilder out, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
    }
}
