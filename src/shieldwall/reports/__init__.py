"""Reports: the report view, a report with its objects, relationships and correlated reports."""
