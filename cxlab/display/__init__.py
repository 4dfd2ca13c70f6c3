"""What a reader sees in a notebook: altair charts (:mod:`cxlab.display.charts`) and the
explorer notebooks' helpers (:mod:`cxlab.display.notebook`)."""
