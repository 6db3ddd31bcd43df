"""Text clean-up shared by the extractors, so HTML and PDF text reads alike in snippets."""

from __future__ import annotations

import re

_INLINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Soft hyphens, zero-width characters and control characters (tab and line breaks excepted).
_INVISIBLE = dict.fromkeys(
    [*map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), *range(9), 11, 12, *range(14, 32), 127],
    None,
)


def clean_inline(text: str) -> str:
    """One line of text: invisible characters dropped, any run of whitespace made one space."""
    return _INLINE_SPACE.sub(" ", text.translate(_INVISIBLE)).replace("\n", " ").strip()


def join_paragraphs(paragraphs: list[str]) -> str:
    """Paragraphs separated by one blank line, so snippets and extracts keep their breaks."""
    kept = [p for p in (clean_inline(p) for p in paragraphs) if p]
    return "\n\n".join(kept)


def clean_block(text: str) -> str:
    """A block of text whose line breaks matter: spaces tidied, paragraph breaks kept."""
    text = text.translate(_INVISIBLE)
    lines = [_INLINE_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def shorten(text: str, limit: int = 300) -> str:
    """At most ``limit`` characters, cut at a word boundary and marked with an ellipsis."""
    text = clean_inline(text)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.-–")
    return cut + "…"
