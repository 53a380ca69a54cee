"""The broken variants, the scenarios that show their mistakes, and the correct baselines."""
