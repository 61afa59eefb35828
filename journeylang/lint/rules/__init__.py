"""Every rule module; importing this package registers them all."""
from . import (content, fragments, frontend, graph, hygiene, names,  # noqa: F401
               operations, policy, templates)
