"""Evaluating an adapter against its base: generation, the held-out run, its metrics and the measured ROI.
"""
