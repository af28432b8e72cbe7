"""Sightings, false positives and known-benign values: what members have seen of an indicator."""
