"""The course as shipped: notebooks, exercise checks, Binder, the README, docstring examples."""
