"""How a ``Flow`` is named: its durable name (``name=``, else ``module:variable``, else a hash),
where its code lives, and its registration in this process.

The durable name is the task queue and what runs, the CLI and the UI call the flow, so changing how
it is derived moves runs in flight to a name no worker serves.
"""

from __future__ import annotations

import os
import sys

from . import registry


class NamingMixin:
    """``Flow``'s naming: ``durable_name``, ``code_location`` and ``register``."""

    name: str | None
    _module: str | None
    _variable: str | None
    _registered_name: str | None
    _hash_name: str

    @property
    def durable_name(self) -> str:
        """The name runs, task queues and the UI use: ``name=``, else ``module:variable``.

        ``module:variable`` is where the code lives: the module-level variable the flow is bound to,
        in the module that defines it (a script run as ``python myjob.py`` is the module ``myjob``,
        as it is when imported, served by ``worker.py myjob`` or run by ``refinire-flow run
        myjob:flow``), so every command the product prints finds the code from the script's folder.
        A flow bound to no module-level variable is ``flow-<hash>`` (module, graph and step
        functions); one bound to a variable of code that cannot be imported (``python -c``, a
        notebook) is ``<variable>-<hash>``. Once registered, the name this process registered it under (see ``register``).
        """
        if self.name:
            return self.name
        if self._registered_name:
            return self._registered_name
        where = self.code_location
        if where:
            return where
        # Bound to a variable in code no other process can import (``python -c``, a notebook).
        return f"{self._variable or 'flow'}-{self._hash_name.removeprefix('flow-')}"

    @property
    def code_location(self) -> str | None:
        """``module:variable`` of this flow's module-level variable, importable by that name; ``None``
        for a flow bound to none (made in a function) or defined where no module name exists."""
        if self._variable is None:
            module = sys.modules.get(self._module or "")
            for var, value in vars(module).items() if module else ():
                if value is self:
                    self._variable = var
                    break
        module_name = importable_module_name(self._module)
        if self._variable is None or module_name is None:
            return None
        return f"{module_name}:{self._variable}"

    def register(self) -> str:
        """Make this process able to execute the flow.

        ``run`` and the workers do it; call it yourself when you build a worker by hand.
        Two unnamed flows can look alike to the hash (a factory whose lambdas capture different
        values): the second one registered in a process gets ``-2`` appended, so neither ever runs
        the other's code. The order is the program's, so a restarted script gets the same names.

        Returns:
            The name it is registered under (its durable name).
        """
        if self._registered_name and registry.get(self._registered_name) is self:
            return self._registered_name
        name = self.durable_name
        self._registered_name = registry.register(name, self, unique=not self.name)
        return self._registered_name


def importable_module_name(module: str | None) -> str | None:
    """The name a module is imported by: ``__main__`` is the script's own name (``python -m pkg.job``
    → ``pkg.job``; ``python job.py`` → ``job``); ``None`` when there is none (a REPL, ``python -c``)."""
    if module != "__main__":
        return module
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        return spec.name.removesuffix(".__main__")
    path = getattr(main, "__file__", None)
    if path:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem.isidentifier():
            return stem
    return None
