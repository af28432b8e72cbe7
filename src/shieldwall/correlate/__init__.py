"""Observable normalisation and the correlation index."""
