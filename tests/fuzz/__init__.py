"""Fuzzers for every decoder that reads bytes from a peer or a file.

Each test feeds one decoder hostile bytes three ways: arbitrary bytes, damaged
copies of valid samples made with the project's own encoders (bit flips,
overwrites, cuts, insertions, splices, lying lengths), and, where the bytes
are signed, bodies that an enrolled insider signs with a real key, so the
strict parser behind the signature check is reached too. The rules checked
everywhere: only the project's own errors escape (node.errors, crdt.errors),
a damaged signed blob is never read as anything but the original, and no
input makes a decoder hang or run past the Hypothesis deadline.

The same tests can be driven by atheris for long, coverage-guided runs
(`tests/fuzz/atheris_run.py`); CI runs them through pytest only.
"""
