"""The surfaces: command line, server, Slack, batch; all through `apps.service`."""

from apps import lean_imports

# Before any surface imports LangGraph (see apps/lean_imports.py).
lean_imports.install()
