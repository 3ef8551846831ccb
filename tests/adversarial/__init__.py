"""Adversarial suite (issue 18): hostile targets, concurrent writers, kills mid-build, bad numbers and paths.

Each test here reproduces a way a careful SRE or security reviewer broke advise; they run in the
default (fast) test selection.
"""
