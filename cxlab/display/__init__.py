"""What a reader sees: altair charts (:mod:`cxlab.display.charts`), the one label function
(:mod:`cxlab.display.labels`), the one chart theme (:mod:`cxlab.display.theme`) and the
explorer notebooks' helpers (:mod:`cxlab.display.notebook`)."""
