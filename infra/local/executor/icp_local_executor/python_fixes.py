"""Works around a CPython 3.11 race inside LocalStack: two threads in ``ast.parse`` at once may
fail with ``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905: the
AST converter's recursion counter is shared by the interpreter's threads).

LocalStack's Step Functions runs each execution in threads of its own and parses string
literals with ``ast.literal_eval`` as it evaluates states. Under load the error struck a Lambda
invoke in flight: Step Functions saw ``Lambda.InternalError`` (or, over HTTP, a connection
closed without an answer, ``States.Runtime``), neither of which a definition retries on AWS,
and the request failed. The fault run met it about once in 50 workflows.
"""

import ast
import threading

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
