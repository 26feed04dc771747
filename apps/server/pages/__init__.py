"""The web pages for auditors and coders."""
