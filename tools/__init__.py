"""Scripts that keep the course's files in step: notebooks, README and site."""
