"""TAXII 2.1: the server (collections are selections over the store, every member has an inbox),
and the client that pulls from any TAXII 2.1 server."""
