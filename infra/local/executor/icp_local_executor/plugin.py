from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class LocalProcessExecutorPlugin(RuntimeExecutorPlugin):
    """Selected by LAMBDA_RUNTIME_EXECUTOR=local-process."""

    name = "local-process"

    def load(self, *args, **kwargs):
        from icp_local_executor.executor import ProcessRuntimeExecutor

        return ProcessRuntimeExecutor
