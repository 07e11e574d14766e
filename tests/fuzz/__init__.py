"""Coverage-guided fuzzing of emvcore's parsers and the kernel (issue 17, "Fuzzing").

- ``targets/``: one harness per target (tlv, dol, apdu, oda, kernel; ndef is planned),
  each ``one_input(bytes)`` checking properties, not just "no crash";
- ``corpus/<target>/``: the regression corpus (seeds from the emulated cards' real answers
  made by ``python -m tests.fuzz.seeds``, and the minimized findings);
- ``run.py``: one target under atheris (``python -m tests.fuzz.run TARGET``);
- ``test_corpus.py`` replays the corpus, ``test_bounded.py`` fuzzes each target briefly
  (``make test``); ``make soak`` fuzzes each for ``FUZZ_SECONDS``;
- ``test_findings.py``: the regression tests of what the fuzzers found.

A crash is written to ``build/fuzz/crashes/<target>/``; replay it with
``python -m tests.fuzz.run TARGET build/fuzz/crashes/TARGET/crash-...``.
"""
