"""Federation between instances: the instance's key, signed objects, peers and sync."""
