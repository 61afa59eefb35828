"""Every rule module; importing this package registers them all."""
from . import (content, declarations, fragments, frontend, graph, hygiene,  # noqa: F401
               migration, names, operations, policy, templates, timing)
