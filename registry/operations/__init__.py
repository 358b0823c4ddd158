"""Operating a registry as a whole: moving it between databases, backing it up, restoring it."""
