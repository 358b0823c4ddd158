"""Audit committee."""
