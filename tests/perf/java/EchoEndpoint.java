package bench;

import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.OnMessage;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerContainer;
import jakarta.websocket.server.ServerEndpoint;
import java.io.IOException;
import java.nio.ByteBuffer;

/** The benchmark's Jakarta WebSocket echo endpoint (Tomcat's side of the websocket phase), at
 *  /ws/echo. web.xml is metadata-complete (no annotation scanning, as for the hello servlet), so
 *  the nested listener registers the endpoint with Tomcat's ServerContainer itself. */
@ServerEndpoint("/echo")
public class EchoEndpoint {
    @OnMessage
    public void onText(Session session, String message) throws IOException {
        session.getBasicRemote().sendText(message);
    }

    @OnMessage
    public void onBinary(Session session, ByteBuffer message) throws IOException {
        session.getBasicRemote().sendBinary(message);
    }

    public static class Registrar implements ServletContextListener {
        @Override
        public void contextInitialized(ServletContextEvent event) {
            ServerContainer container = (ServerContainer) event.getServletContext()
                    .getAttribute("jakarta.websocket.server.ServerContainer");
            try {
                container.addEndpoint(EchoEndpoint.class);
            } catch (DeploymentException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
