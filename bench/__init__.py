"""``python -m bench``: what our Flow layer costs over hand-written Temporal, measured in one run."""
