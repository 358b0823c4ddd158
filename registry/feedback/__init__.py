"""Feedback from parties of past mediations: requests, one-time links, anonymous answers."""
