"""Works around a CPython 3.11 race inside LocalStack: two threads in ``ast.parse`` at once may
fail with ``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905: the
AST converter's recursion counter is shared by the interpreter's threads).

LocalStack's Step Functions runs each execution in threads of its own and parses string
literals with ``ast.literal_eval`` as it evaluates states. Under load the error struck a Lambda
invoke in flight: Step Functions saw ``Lambda.InternalError`` (or, over HTTP, a connection
closed without an answer, ``States.Runtime``), neither of which a definition retries on AWS,
and the request failed. The fault run met it about once in 50 workflows.

And a cost of LocalStack's Step Functions that grows with load: it parses every JSONPath of a
state (each ``.$`` of Parameters, ResultPath, Choice variables) each time it evaluates it, and
jsonpath-ng 1.7 builds its LALR parser tables from scratch for each parse (PLY, ``write_tables=0``
and no tables shipped): 20 to 40 ms of CPU under the GIL for ``$.requestId``. Under the bench's
load this held LocalStack's one Python process busy (a profile of it caught the active thread
in ``ply.yacc`` table generation) until the functions' own calls timed out. The parsed path
does not change and its ``find``/``update_or_create`` leave it as it is, so it is kept.

And a race on LocalStack's own port: its HTTP server (Twisted) closes a keep-alive connection idle
for 60 s, and a request sent on it in that instant fails with ``ConnectionClosedError``
("Connection was closed before we received a valid response"; measured: sent 60.06 s after the
last, about a 20 ms window). LocalStack's Step Functions calls Lambda (and STS, for the role) with
clients that never retry, so the task failed ``States.Runtime`` and the request with it: once in
a few chaos runs. The client's side may close an idle connection without a race; the server's
may not, so it keeps them.
"""

import ast
import functools
import threading

from rolo.serving.twisted import TwistedGateway

from localstack.runtime import hooks

_parse = ast.parse
_one_at_a_time = threading.Lock()


def _serialised_parse(*args, **kwargs):
    with _one_at_a_time:
        return _parse(*args, **kwargs)


@hooks.on_infra_start()
def serialise_ast_parse() -> None:
    """``ast.literal_eval`` and every other caller of ``ast.parse`` go through the lock."""
    ast.parse = _serialised_parse


@hooks.on_infra_start()
def cache_step_functions_json_paths() -> None:
    """Each distinct JSONPath is parsed once: the two LocalStack modules that parse them (at
    import, each bound jsonpath-ng's ``parse`` to a name of its own) get a cached one."""
    from localstack.services.stepfunctions.asl.component.common.path import result_path
    from localstack.services.stepfunctions.asl.utils import json_path

    for module in (json_path, result_path):
        module.parse = functools.lru_cache(maxsize=4096)(module.parse)


@hooks.on_infra_start()
def keep_idle_connections_open() -> None:
    """The gateway's connections have no idle timeout (Twisted's is 60 s). The hook runs before
    LocalStack builds its gateway, so every connection it accepts is built without it."""
    build = TwistedGateway.__init__

    def build_without_idle_timeout(self, *args, **kwargs):
        build(self, *args, **kwargs)
        self.timeOut = None

    TwistedGateway.__init__ = build_without_idle_timeout
