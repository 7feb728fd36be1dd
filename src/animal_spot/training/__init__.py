"""Training: the Lightning loop around plain models, metrics, losses and run artifacts."""
