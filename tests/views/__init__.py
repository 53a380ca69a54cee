"""Tables, charts, timelines, the dashboard, and the notebooks in a real browser."""
