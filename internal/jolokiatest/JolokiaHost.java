// A JVM serving the Jolokia protocol for tests: com.sun.net.httpserver
// hands /jolokia requests to jolokia-core's HttpRequestHandler (Debian
// ships jolokia-core.jar but not the JVM agent). Listens on 127.0.0.1:0 and
// prints "PORT n"; with two arguments it requires HTTP basic
// authentication with that user and password.
import com.sun.net.httpserver.BasicAuthenticator;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.jolokia.backend.BackendManager;
import org.jolokia.config.ConfigKey;
import org.jolokia.config.Configuration;
import org.jolokia.http.HttpRequestHandler;
import org.jolokia.util.LogHandler;
import org.json.simple.JSONAware;

public class JolokiaHost {
    public static void main(String[] args) throws Exception {
        LogHandler log = new LogHandler() {
            public void debug(String m) {}
            public void info(String m) {}
            public void error(String m, Throwable t) { System.err.println(m + ": " + t); }
        };
        Configuration cfg = new Configuration(ConfigKey.AGENT_ID, "bergamot-test");
        BackendManager backend = new BackendManager(cfg, log);
        HttpRequestHandler handler = new HttpRequestHandler(cfg, backend, log);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        HttpContext ctx = server.createContext("/jolokia", ex -> {
            JSONAware reply;
            try {
                String path = ex.getRequestURI().getRawPath().substring("/jolokia".length());
                Map<String, String[]> params = new HashMap<>();
                if ("POST".equals(ex.getRequestMethod())) {
                    reply = handler.handlePostRequest(ex.getRequestURI().toString(), ex.getRequestBody(), "UTF-8", params);
                } else {
                    reply = handler.handleGetRequest(ex.getRequestURI().toString(), path, params);
                }
            } catch (Throwable t) {
                reply = handler.handleThrowable(t);
            }
            byte[] body = reply.toJSONString().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        if (args.length == 2) {
            ctx.setAuthenticator(new BasicAuthenticator("jolokia") {
                public boolean checkCredentials(String user, String pass) {
                    return args[0].equals(user) && args[1].equals(pass);
                }
            });
        }
        server.start();
        System.out.println("PORT " + server.getAddress().getPort());
        System.out.flush();
    }
}
