"""A reference bank back-end for the HTTP connector: the Opus connector routes served from the sandbox bank."""
