"""Selections: saved filters over the store that a TAXII collection, a MISP feed, a peer rule, a
webhook or a stream subscription serves, always on top of the policy filter."""
