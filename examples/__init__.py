"""Seeded generator of realistic LLM production logs for the bundled example scenarios.

See ``examples/README.md``; entry points are :func:`examples.generate.generate_scenario`
and :func:`examples.generate.write_scenario`.
"""
