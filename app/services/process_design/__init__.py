"""The process itself: drafts, simulation before publishing, published versions."""
