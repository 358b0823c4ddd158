"""Audit documents."""
