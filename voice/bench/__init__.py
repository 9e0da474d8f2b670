"""Benchmark support: synthetic test speech, kitchen noise and the phrase corpus."""
