"""Explorer served in the browser: set up scenarios, run them with progress, look at maps and
series, compare two scenarios and open finished runs and sweeps (``make explore``).

Built on Solara; see ``explorer/app.py`` for the page, ``explorer/scenario.py`` for how the form
becomes a checked configuration, ``explorer/jobs.py`` for runs off the interface thread and
``explorer/charts.py`` for the figures (also used by ``examples/explore.ipynb``).
"""
