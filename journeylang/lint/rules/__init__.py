"""Every rule module; importing this package registers them all."""
from . import (content, fragments, frontend, graph, hygiene, migration,  # noqa: F401
               names, operations, policy, templates)
