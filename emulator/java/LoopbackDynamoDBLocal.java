/*
 * Starts Amazon's DynamoDB Local bound to 127.0.0.1 only.
 *
 * DynamoDB Local has no host option: its DynamoDBProxyServer builds a Jetty
 * Server(port) whose one connector listens on every interface. This launcher
 * builds the server through DynamoDB Local's own command-line entry point, sets
 * the host of every network connector to the loopback address before Jetty opens
 * the socket, and then starts it.
 *
 * Protocol with the parent process (emulator/dynamodb_local.py):
 *   - the first argument is the port, 0 for one the kernel chooses (no race for
 *     a free port); DynamoDB Local's own option rejects 0, so the launcher sets
 *     the port on the connector itself;
 *   - the other arguments are DynamoDB Local's own (-inMemory, -dbPath DIR, ...);
 *   - once listening, one line "LISTENING 127.0.0.1 <port>" goes to stdout;
 *   - when stdin reaches end of file (the parent closed it or died), the server
 *     stops and the JVM exits: no orphan Java process outlives its owner.
 */

import java.lang.reflect.Field;
import java.util.Arrays;

import org.eclipse.jetty.server.AbstractNetworkConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {

    private static final String LOOPBACK_HOST = "127.0.0.1";

    private LoopbackDynamoDBLocal() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            throw new IllegalArgumentException("usage: <port> [DynamoDB Local options]");
        }
        int requestedPort = Integer.parseInt(args[0]);
        String[] dynamoDBLocalArgs = Arrays.copyOfRange(args, 1, args.length);
        DynamoDBProxyServer proxy =
            ServerRunner.createServerFromCommandLineArgs(dynamoDBLocalArgs);
        Server jetty = jettyServerOf(proxy);

        // Bind before start: Jetty opens the listening socket in start().
        int boundConnectors = 0;
        for (Connector connector : jetty.getConnectors()) {
            if (connector instanceof AbstractNetworkConnector) {
                AbstractNetworkConnector network = (AbstractNetworkConnector) connector;
                network.setHost(LOOPBACK_HOST);
                network.setPort(requestedPort);
                boundConnectors++;
            }
        }
        if (boundConnectors == 0) {
            throw new IllegalStateException("DynamoDB Local has no network connector");
        }

        // safeStart() starts Jetty without the start-up telemetry call to Pinpoint.
        proxy.safeStart();

        int port = -1;
        for (Connector connector : jetty.getConnectors()) {
            if (connector instanceof AbstractNetworkConnector) {
                port = ((AbstractNetworkConnector) connector).getLocalPort();
            }
        }
        System.out.println("LISTENING " + LOOPBACK_HOST + " " + port);
        System.out.flush();

        stopWhenStdinCloses(proxy);
        proxy.join();
    }

    /** Reads the private Jetty server out of DynamoDBProxyServer. */
    private static Server jettyServerOf(DynamoDBProxyServer proxy) throws Exception {
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        return (Server) field.get(proxy);
    }

    /** Exits once the parent closes our stdin, so the JVM never outlives it. */
    private static void stopWhenStdinCloses(DynamoDBProxyServer proxy) {
        Thread watchdog = new Thread(() -> {
            try {
                byte[] buffer = new byte[256];
                while (System.in.read(buffer) != -1) {
                    // Input carries no commands; only its end matters.
                }
            } catch (Exception ignored) {
                // A broken pipe means the same as end of file: the parent is gone.
            }
            try {
                proxy.stop();
            } catch (Exception ignored) {
                // Exiting anyway: the halt below releases the port and the files.
            } finally {
                Runtime.getRuntime().halt(0);
            }
        }, "stdin-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
