"""Benchmarks: run by hand or with `make bench`; results are ratios against a baseline."""
