"""Every rule module; importing this package registers them all."""
from . import (content, correlation, declarations, fragments, frontend, graph,  # noqa: F401
               hygiene, migration, names, operations, policy, templates, timing)
