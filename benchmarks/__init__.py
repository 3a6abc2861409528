"""Benchmarks: figures and ratios against a baseline measured in the same run (`make bench`).

They print; they assert nothing. Tests assert behaviour, benchmarks measure it.
"""
