"""HTTP plumbing every capability's routes use: request dependencies (the viewer, the database,
the settings) and the one JSON error shape. It sits below the capabilities, so `web/` (the pages)
can call capabilities' services without a circle between packages."""
