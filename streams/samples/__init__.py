"""Sample data with known truth, built from real photos that ship inside installed packages.

The demo's recorded session, the benchmarks' frames and the tests' frames all come from here. None of
the photos is committed; nothing here publishes anything (that is ``producers/``).
"""
