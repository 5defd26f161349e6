// The Java side of the benchmark's long-poll workload (tests/perf/longpoll.py): the same three
// URLs as Serval's async fixture (tests/fixtures/apps/Async.cpp), with Servlet 6 async.
//   /async/park     startAsync(), parked with a 60 s timeout, no thread held
//   /async/publish  ?msg=M completes every parked request with the body M; answers "woke N"
//   /async/stats    "parked=N closed=C ws=0/0/0" (the fixture's format, which longpoll.py reads)
// tests/perf/run compiles it with javac against Tomcat's servlet-api.jar and deploys it as the
// `async` webapp (java/async-web.xml: async-supported).
package bench;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

public class LongPollServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private final Queue<AsyncContext> parked = new ConcurrentLinkedQueue<>();
    private final AtomicInteger parkedCount = new AtomicInteger();
    private final AtomicInteger closed = new AtomicInteger();

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String path = request.getPathInfo() == null ? "" : request.getPathInfo();
        response.setContentType("text/plain");
        switch (path) {
        case "/park": {
            AsyncContext async = request.startAsync();
            async.setTimeout(60_000);
            async.addListener(new AsyncListener() {
                public void onComplete(AsyncEvent e) {}
                public void onTimeout(AsyncEvent e) { leave(async); }
                public void onError(AsyncEvent e) { closed.incrementAndGet(); leave(async); }
                public void onStartAsync(AsyncEvent e) {}
            });
            parked.add(async);
            parkedCount.incrementAndGet();
            return;
        }
        case "/publish": {
            String msg = request.getParameter("msg") == null ? "" : request.getParameter("msg");
            byte[] body = msg.getBytes(StandardCharsets.UTF_8);
            int woke = 0;
            for (AsyncContext async; (async = parked.poll()) != null; ) {
                parkedCount.decrementAndGet();
                try {
                    HttpServletResponse r = (HttpServletResponse) async.getResponse();
                    r.setContentType("text/plain");
                    r.setContentLength(body.length);
                    r.getOutputStream().write(body);
                    ++woke;
                } catch (IOException | IllegalStateException gone) {
                    // the client left: nothing to wake
                }
                async.complete();
            }
            write(response, "woke " + woke);
            return;
        }
        case "/stats":
            write(response, "parked=" + parkedCount.get() + " closed=" + closed.get() + " ws=0/0/0");
            return;
        default:
            response.sendError(404);
        }
    }

    private void leave(AsyncContext async) {
        if (parked.remove(async)) parkedCount.decrementAndGet();
    }

    private static void write(HttpServletResponse response, String text) throws IOException {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }
}
