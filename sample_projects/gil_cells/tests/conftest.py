import warnings

# Free-threaded CPython: gil_cells does not declare free-threading support yet,
# so importing it turns the GIL back on with a RuntimeWarning. Silence it.
warnings.filterwarnings(
    "ignore",
    message=r"The global interpreter lock \(GIL\) has been enabled to load module 'gil_cells'",
    category=RuntimeWarning,
)
