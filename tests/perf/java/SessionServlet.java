// The Java side of the benchmark's session workloads: the same URLs and bytes as Serval's
// `sessions` sample (sdk/examples/sessions): /login?user=NAME starts a session, /hello reads
// one attribute, /visit reads one and increments another, /visits answers the count. Sessions
// live in Tomcat's default manager (StandardManager, in memory: saved on a clean stop only).
// tests/perf/run compiles it with javac against Tomcat's servlet-api.jar.
package bench;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

public class SessionServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    private static void write(HttpServletResponse response, String text) throws IOException {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        response.setContentType("text/plain");
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String path = request.getServletPath();
        if (path.equals("/login")) {
            String user = request.getParameter("user");
            if (user == null) user = "World";
            HttpSession session = request.getSession(true);
            if (!session.isNew()) request.changeSessionId();
            session.setAttribute("user", user);
            session.setAttribute("visits", 0L);
            write(response, "Hello, " + user + "!");
            return;
        }
        HttpSession session = request.getSession(false);
        if (session == null) {
            response.sendError(401, "log in first: /sessions/login?user=NAME");
            return;
        }
        switch (path) {
            case "/hello":
                write(response, "Hello, " + session.getAttribute("user") + "!");
                break;
            case "/visit":
                Long visits = (Long) session.getAttribute("visits");
                session.setAttribute("visits", (visits == null ? 0L : visits) + 1);
                write(response, "Hello, " + session.getAttribute("user") + "!");
                break;
            case "/visits":
                Object count = session.getAttribute("visits");
                write(response, count == null ? "0" : count.toString());
                break;
            default:
                response.sendError(404);
        }
    }
}
