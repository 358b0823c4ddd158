"""Audit pages (written next)."""

from flask import Flask


def register(app: Flask) -> None:
    pass
