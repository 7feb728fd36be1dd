"""Datasets: clip records, manifests, splits, audits, caching and sampling."""
