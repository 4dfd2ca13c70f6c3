"""The chart theme: categories never share a colour up to twenty (a bank has eleven channels)."""

from __future__ import annotations

from cxlab.display.theme import PALETTE, theme_config


def test_twenty_categories_get_twenty_different_colours():
    # Lindenhof Bank's "Interactions per week" has 11 channels: with the old 10 colours its
    # 11th line (Web) was drawn in the 1st line's blue (App)
    assert len(PALETTE) == 20
    assert len({c.lower() for c in PALETTE}) == 20
    assert theme_config()["config"]["range"]["category"] == PALETTE
