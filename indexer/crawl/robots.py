"""A site's robots.txt, read once per crawl and asked about every URL before it is fetched.

Protego reads the file rather than ``urllib.robotparser``: the standard library's parser
ignores the ``*`` and ``$`` wildcards that real sites use ("Disallow: /*.pdf$") and applies the
first rule that matches, where RFC 9309 (and every major crawler) applies the longest, so that
"Allow: /docs/public/" wins over "Disallow: /docs/".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protego import Protego

from indexer.crawl.urls import normalise


@dataclass(slots=True, kw_only=True)
class RobotsRules:
    """The rules that apply to one product token: its own group when the file has one, else
    the ``*`` group (a group for us replaces ``*`` entirely, Crawl-delay included)."""

    sitemaps: list[str] = field(default_factory=list)  # absolute Sitemap: URLs, in file order
    crawl_delay: float | None = None  # seconds; None when the group that applies sets none
    token: str = ""
    # None: no robots.txt, everything is allowed.
    parser: Protego | None = field(default=None, repr=False, compare=False)

    def allowed(self, url: str) -> bool:
        if self.parser is None:
            return True
        return self.parser.can_fetch(url, self.token)

    @classmethod
    def parse(cls, text: str, token: str) -> RobotsRules:
        parser = Protego.parse(text)
        # A relative or non-http Sitemap: line names nothing a crawler could fetch.
        sitemaps = [url for line in parser.sitemaps if (url := normalise(line)) is not None]
        return cls(
            sitemaps=sitemaps, crawl_delay=parser.crawl_delay(token), token=token, parser=parser
        )

    @classmethod
    def allow_all(cls) -> RobotsRules:
        """For a site with no robots.txt (404 or 410): RFC 9309 says everything is allowed."""
        return cls()
