"""The web application: server-rendered pages that call the same services as the REST API."""
