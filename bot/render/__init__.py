"""Renderers: pure functions from a statement to each channel's words, within its limits."""
