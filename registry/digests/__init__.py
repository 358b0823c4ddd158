"""Peer reviewers, their conflict declarations, and the Feedback Digests they publish."""
