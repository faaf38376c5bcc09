"""HTTP server of `unavoz run`."""
