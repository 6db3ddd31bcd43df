"""What the sample site's folder layout says about a file: type, scope and topic.

The indexer never requires this layout: a folder name it does not know says nothing, and the
file's own metadata decides instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

TYPE_FOLDERS: dict[str, str] = {
    "news": "news",
    "pages": "page",
    "case-studies": "case-study",
    "documents": "document",
}
SCOPE_FOLDERS: frozenset[str] = frozenset({"local", "national"})
# Folders below a scope folder name a theme, shown as a topic ("care-alternatives" ->
# "Care alternatives").


@dataclass(slots=True)
class FolderFacets:
    type: str | None = None
    scope: str | None = None
    topics: list[str] = field(default_factory=list)


def topic_label(slug: str) -> str:
    words = slug.replace("_", "-").split("-")
    return " ".join(w for w in words if w).capitalize()


def facets_from_path(relative_path: str) -> FolderFacets:
    """Reads the folders of a corpus-relative path, outermost first."""
    facets = FolderFacets()
    folders = PurePosixPath(relative_path).parts[:-1]
    for position, folder in enumerate(folders):
        name = folder.lower()
        if facets.type is None and name in TYPE_FOLDERS:
            facets.type = TYPE_FOLDERS[name]
        elif facets.scope is None and name in SCOPE_FOLDERS:
            facets.scope = name
            facets.topics.extend(topic_label(f) for f in folders[position + 1 :])
            break
    return facets
