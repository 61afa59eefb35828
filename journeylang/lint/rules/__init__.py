"""Every rule module; importing this package registers them all."""
from . import fragments, frontend, graph, hygiene, names, policy, templates  # noqa: F401
