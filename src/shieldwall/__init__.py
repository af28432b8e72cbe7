"""Shieldwall: threat-intelligence sharing and incident coordination for a cyber-defence partnership."""
