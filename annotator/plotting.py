"""matplotlib for the pages that draw a plot, loaded by the first plot a process draws: a web
process that never draws one never holds it (about 40 MB and 95 ms of start-up)."""

from types import ModuleType


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend (the web server has no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot
