// LocalStack starts DynamoDB Local with -javaagent:ddb-local-loader-0.1.jar (its patch raising the
// GSI limit, normally downloaded). Offline we give it this agent, which does nothing.
package icp;

import java.lang.instrument.Instrumentation;

public final class NoopAgent {
    public static void premain(String args, Instrumentation inst) {}
}
