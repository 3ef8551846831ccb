"""The decision: assumptions, strategies costed on the measured traffic, ROI arithmetic and the verdict.

Pure analysis core: typed inputs in, a JSON-ready decision out.
"""
