"""Shieldwall: threat-intel sharing and incident coordination for a cyber-defence partnership."""
