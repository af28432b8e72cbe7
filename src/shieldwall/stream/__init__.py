"""Readers of the change log: the live stream (Server-Sent Events) and webhooks."""
