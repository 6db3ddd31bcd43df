"""The public search service: a Falcon app over the index that ``indexer`` publishes."""
