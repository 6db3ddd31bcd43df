"""Site furniture found by the labels themes give it, taken out before the main text is read.

The generic extractor judges blocks by their text and links alone, so a page whose article is
all lists, beside a "latest news" block of paragraphs, loses its article to the teasers.
Furniture is usually labelled, though, because themes are written for screen readers and
stylesheets: ARIA landmark roles, the ``nav`` and ``footer`` elements, and a few words that
class names and ids use everywhere (``cookie-banner``, ``breadcrumbs``, ``share-this``,
``related-posts``, ``latest-news``). Removing those blocks first leaves less to get wrong.

Left out on purpose, because real pages put article text in them: ``aside`` (pull quotes and
fact boxes), ``social`` (embedded posts the article quotes) and ``sidebar`` (layout wrappers
such as ``content-with-sidebar`` hold the article itself).
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

# Explicit ARIA roles of landmarks and widgets that are never the page's own text.
ROLES = frozenset(
    {
        "alertdialog",
        "banner",
        "complementary",
        "contentinfo",
        "dialog",
        "menu",
        "menubar",
        "navigation",
        "search",
    }
)
TAGS = frozenset({"nav", "footer"})
# Words of class names and ids that mark furniture in common themes: menus, cookie notices,
# breadcrumbs, share buttons, "related" and "latest" teasers, footers, skip links.
WORDS = frozenset(
    {
        "addthis",
        "breadcrumb",
        "breadcrumbs",
        "consent",
        "cookie",
        "cookies",
        "footer",
        "gdpr",
        "latest",
        "menu",
        "nav",
        "navbar",
        "navigation",
        "related",
        "share",
        "sharethis",
        "sharing",
        "skip",
    }
)
# A block labelled like furniture is a wrapper of the page ("nav-open", "has-footer"), never
# removed, when it holds the headline, the main landmark or the biggest article (teaser cards
# are often small articles). On a page that marks none of these, a block holding more than
# this share of the page's text is taken for a wrapper.
_ANCHORS = "//main | //*[@role='main'] | //h1"
MAX_TEXT_SHARE = 0.5
_NOT_A_WORD = re.compile(r"[^a-z0-9]+")
_CAMEL_HUMP = re.compile(r"(?<=[a-z])(?=[A-Z])")


def label_words(element: HtmlElement) -> set[str]:
    """The words of an element's class names and id: ``relatedPosts``, ``related-posts`` and
    ``related_posts`` all give ``related``."""
    label = _CAMEL_HUMP.sub(" ", f"{element.get('class', '')} {element.get('id', '')}")
    return set(_NOT_A_WORD.split(label.lower())) - {""}


def looks_like_furniture(element: HtmlElement) -> bool:
    role = (element.get("role") or "").strip().lower()
    return element.tag in TAGS or role in ROLES or not WORDS.isdisjoint(label_words(element))


def strip_furniture(tree: HtmlElement) -> HtmlElement:
    """The page without its labelled furniture (changed in place, and returned). Walked from
    the top, so a removed block's own labelled parts are never looked at."""
    body = tree.find("body")
    if body is None:
        return tree
    wrappers = _wrappers(body)
    most_text = 0 if wrappers else MAX_TEXT_SHARE * len(body.text_content())
    stack = list(body)
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str):  # comments and processing instructions
            continue
        if looks_like_furniture(element) and not (
            element in wrappers or (most_text and len(element.text_content()) > most_text)
        ):
            element.drop_tree()
        else:
            stack.extend(element)
    return tree


def _wrappers(body: HtmlElement) -> set[HtmlElement]:
    """The headline, main landmark and biggest article, with every element around them."""
    anchors = body.xpath(_ANCHORS)
    if articles := body.findall(".//article"):
        anchors.append(max(articles, key=lambda article: len(article.text_content())))
    return {element for anchor in anchors for element in (anchor, *anchor.iterancestors())}
