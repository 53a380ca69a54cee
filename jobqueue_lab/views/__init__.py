"""Presentation: pandas tables, matplotlib charts, the ipywidgets dashboard and the side-by-side
comparison. The only part of the package that imports pandas, matplotlib or ipywidgets."""
