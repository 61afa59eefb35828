"""Every rule module; importing this package registers them all."""
from . import frontend, graph, names  # noqa: F401
