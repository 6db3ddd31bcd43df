"""What a file's place on the site says about it: type, scope and topics, read from its
folder in the corpus, its breadcrumb trail or its URL.

The indexer never requires this layout: a folder or section name it does not know says nothing,
and the file's own metadata decides instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from indexer.document import SCOPE_NAMES, DocType, Scope

TYPE_FOLDERS: dict[str, DocType] = {
    "news": "news",
    "pages": "page",
    "case-studies": "case-study",
    "documents": "document",
}
SCOPE_FOLDERS = SCOPE_NAMES
# Folders below a scope folder name a theme, shown as a topic ("care-alternatives" ->
# "Care alternatives").


@dataclass(slots=True)
class FolderFacets:
    type: DocType | None = None
    scope: Scope | None = None
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
            facets.scope = SCOPE_FOLDERS[name]
            facets.topics.extend(topic_label(f) for f in folders[position + 1 :])
            break
    return facets


def section_type(name: str) -> DocType | None:
    """The document type a site section stands for: "News", "/news", "case-studies"."""
    slug = "-".join(name.lower().strip("/ ").split("/")[0].split())
    return TYPE_FOLDERS.get(slug)


def facets_from_breadcrumb(labels: list[str]) -> FolderFacets:
    """Type from the trail's section, topics from the levels between the section and the page.

    The first crumb (the home page) and the last (the page itself) say nothing.
    """
    facets = FolderFacets()
    for label in labels[1:-1]:
        if facets.type is None and (doc_type := section_type(label)):
            facets.type = doc_type
        else:
            facets.topics.append(label)
    return facets


def type_from_url(url: str | None) -> DocType | None:
    """The type the URL's first path segment names: https://site/news/... is news."""
    if not url:
        return None
    segments = [segment for segment in urlsplit(url).path.split("/") if segment]
    return section_type(segments[0]) if len(segments) > 1 else None
