"""Reads the site's HTML pages and PDF documents and publishes a Whoosh index of them.

Data flows one way: file on disk -> extractor -> ``Document`` -> index writer -> published
index version. ``search_api`` reads what this package publishes and never writes to it; it
imports only the names below (an import-linter contract checks it), so the modules behind
them can change without touching the search service.
"""

from indexer.analysis import (
    MINOR_WORDS,
    canonical_spelling,
    folded_words,
    spelling_analyzer,
    stem_word,
)
from indexer.audit import Actor, AuditLog, command_line_actor
from indexer.build import (
    BuildError,
    BuildReport,
    Verifier,
    build_index,
    crawl_index,
    source_files,
    update_index,
)
from indexer.clock import utc_now, utc_stamp
from indexer.config import INDEXER_ENVIRONMENT, IndexerSettings
from indexer.crawl import OUTCOMES, CrawlPlan, crawl_plan, normalise, site_of
from indexer.document import DOC_TYPES, PAGE_BREAK, SCOPES
from indexer.environment import (
    MEGABYTES,
    MILLISECONDS,
    Variable,
    at_least,
    markdown_table,
    number,
    optional_path,
    optional_text,
    read_environment,
    switch,
    whole_number,
)
from indexer.errors import ChecksFailed, CrawlError, IndexerError, UnsupportedFile
from indexer.extract import HTML_SUFFIXES, PDF_SUFFIXES, check_content
from indexer.extract.sidecar import sidecar_path
from indexer.files import flush_folder, write_atomically
from indexer.lock import BuildInProgress, BuildLock, FileLock
from indexer.schema import FACET_FIELDS, SCHEMA, TEXT_FIELDS
from indexer.store import IndexStore, NothingToRollBack
from indexer.text import shorten
from indexer.vocabulary import WordCounts

__all__ = [
    "DOC_TYPES",
    "FACET_FIELDS",
    "HTML_SUFFIXES",
    "INDEXER_ENVIRONMENT",
    "MEGABYTES",
    "MILLISECONDS",
    "MINOR_WORDS",
    "OUTCOMES",
    "PAGE_BREAK",
    "PDF_SUFFIXES",
    "SCHEMA",
    "SCOPES",
    "TEXT_FIELDS",
    "Actor",
    "AuditLog",
    "BuildError",
    "BuildInProgress",
    "BuildLock",
    "BuildReport",
    "ChecksFailed",
    "CrawlError",
    "CrawlPlan",
    "FileLock",
    "IndexStore",
    "IndexerError",
    "IndexerSettings",
    "NothingToRollBack",
    "UnsupportedFile",
    "Variable",
    "Verifier",
    "WordCounts",
    "at_least",
    "build_index",
    "canonical_spelling",
    "check_content",
    "command_line_actor",
    "crawl_index",
    "crawl_plan",
    "flush_folder",
    "folded_words",
    "markdown_table",
    "normalise",
    "number",
    "optional_path",
    "optional_text",
    "read_environment",
    "shorten",
    "sidecar_path",
    "site_of",
    "source_files",
    "spelling_analyzer",
    "stem_word",
    "switch",
    "update_index",
    "utc_now",
    "utc_stamp",
    "whole_number",
    "write_atomically",
]
