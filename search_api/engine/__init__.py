"""The search engine: everything between a typed query and a ranked, highlighted answer.

No HTTP here (an import-linter contract keeps Falcon out), and the only package that imports
Whoosh. ``SearchService`` is the surface the HTTP layer and the staff tools use.
"""

from search_api.engine.service import SORTS, SearchRequest, SearchService
from search_api.engine.versions import IndexUnavailable

__all__ = ["SORTS", "IndexUnavailable", "SearchRequest", "SearchService"]
