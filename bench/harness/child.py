"""The measuring process: ``python -m bench.harness.child MODULE FUNCTION ARGUMENTS_JSON``.

It imports one benchmark module (``bench.MODULE``, such as ``bench.ours.pool_runs`` for
``ours.pool_runs``) and nothing else of the bench but what that module imports, calls one
function with the JSON arguments, and prints one line of JSON: the function's result, how
many objects the garbage collector tracked before the measurement began, and which of the
heavy notebook libraries had been imported by the end (none, for a lean measurement).
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import json
import sys

HEAVY = ("pandas", "matplotlib", "ipywidgets", "IPython", "nbclient")
"""Libraries a notebook kernel loads and a job queue does not need. Each brings tens of
thousands of objects that every full garbage collection then walks."""


def main(argv: list[str]) -> None:
    module_name, function_name, arguments = argv
    module = importlib.import_module(f"bench.{module_name}")
    measure = getattr(module, function_name)
    tracked = len(gc.get_objects())
    result = measure(**json.loads(arguments))
    if dataclasses.is_dataclass(result):
        result = dataclasses.asdict(result)
    heavy = [name for name in HEAVY if name in sys.modules]
    print(json.dumps({"result": result, "gc_objects": tracked, "heavy": heavy}))


if __name__ == "__main__":
    main(sys.argv[1:])
