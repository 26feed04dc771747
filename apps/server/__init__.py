"""The HTTP surface: the versioned JSON API under /v1, the auditor's web pages, `codesense serve`.

`create_app()` builds one FastAPI app over one `Service` that keeps the term index, the rules
and the graphs warm across requests.
"""

from apps.server.app import create_app

__all__ = ["create_app"]
