"""animal-spot: train detectors and classifiers of animal sounds and run them over recordings."""

__version__ = "0.1.0"

__all__ = ["__version__"]
