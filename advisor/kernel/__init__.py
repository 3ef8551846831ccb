"""The kernel: the log record, errors, atomic io, advise.toml and progress bars.

Every layer may import it; it imports nothing above it and no optional dependency.
"""
