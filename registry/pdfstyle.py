"""The look every PDF the registry prints shares (certificates, receipts): fonts and colours.

Low in the tree on purpose: it imports no domain, so any domain can print.
"""

from pathlib import Path

FONTS = Path(__file__).resolve().parent / "static" / "fonts"
FAMILY = "DejaVuSerif"

# The site's colours (registry/static/registry.css): ink, muted text, brand blue, rules.
INK = (29, 36, 51)
MUTED = (90, 100, 120)
BRAND = (31, 78, 140)
RULE = (196, 204, 218)
