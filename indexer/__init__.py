"""Reads the site's HTML pages and PDF documents and publishes a Whoosh index of them.

Data flows one way: file on disk -> extractor -> ``Document`` -> index writer -> published
index version. ``search_api`` reads what this package publishes and never writes to it.
"""
