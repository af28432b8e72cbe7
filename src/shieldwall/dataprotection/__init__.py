"""Data protection: what instance admins may do with members' intel without reading it (metadata,
break-glass reads), how long intel is kept, and finding and erasing personal data."""
