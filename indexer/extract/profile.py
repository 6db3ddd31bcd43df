"""Site profiles: CSS selectors, kept as data, that say where a known site's main text is.

A profile is optional. It applies to a page in which one of its ``match`` selectors finds
something (the site's own pages); then, when one of its ``content`` selectors matches, the text
is read from that element with the ``drop`` selectors' furniture removed, which is exact and
fast for templates we know. Any other page goes to the generic extractor.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from indexer.errors import ProfileError


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteProfile:
    name: str
    match: tuple[str, ...]
    content: tuple[str, ...]
    drop: tuple[str, ...] = ()

    def main_element(self, soup: BeautifulSoup) -> Tag | None:
        """The first element a content selector matches, its furniture removed; else None.

        Changes ``soup``: read the page's metadata before calling this.
        """
        # One selector list is one walk over the page, not one walk per selector.
        if soup.select_one(", ".join(self.match)) is None:
            return None
        for selector in self.content:
            element = soup.select_one(selector)
            if element is not None:
                if self.drop:
                    for furniture in element.select(", ".join(self.drop)):
                        if furniture.parent is not None:  # not inside furniture already gone
                            furniture.decompose()
                return element
        return None


def load_profile(path: Path) -> SiteProfile:
    """Reads and checks a profile file, so a mistake in it stops a build before it starts."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProfileError(f"site profile {path}: cannot read it ({error.strerror})") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ProfileError(f"site profile {path}: not valid TOML ({error})") from error
    selectors: dict[str, list[str]] = {}
    for key in ("match", "content", "drop"):
        value = data.get(key, [] if key == "drop" else None)
        if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
            raise ProfileError(f"site profile {path}: {key!r} must be a list of CSS selectors")
        if not value and key != "drop":
            raise ProfileError(f"site profile {path}: {key!r} needs at least one selector")
        selectors[key] = value
    match, content, drop = selectors["match"], selectors["content"], selectors["drop"]
    probe = BeautifulSoup("<p></p>", "html.parser")
    for selector in [*match, *content, *drop]:
        try:
            probe.select(selector)
        except SelectorSyntaxError as error:
            raise ProfileError(f"site profile {path}: bad selector {selector!r}") from error
    return SiteProfile(
        name=str(data.get("name", path.stem)),
        match=tuple(match),
        content=tuple(content),
        drop=tuple(drop),
    )


def cached_profile(path: Path) -> SiteProfile:
    """``load_profile`` once per version of the file: every page of a build uses the same
    profile, and an edited profile is picked up by the next build of a long-running process."""
    try:
        modified = path.stat().st_mtime_ns
    except OSError as error:
        raise ProfileError(f"site profile {path}: cannot read it ({error.strerror})") from error
    return _load_version(path, modified)


@cache
def _load_version(path: Path, modified: int) -> SiteProfile:
    return load_profile(path)
