#!/usr/bin/env python3
"""run.py - runs the unittest modules test_*.py of one folder and prints TAP.

    python3 e2e/run.py e2e              # the agent's end-to-end tests
    python3 e2e/run.py e2e/apiserver    # the test API server's own tests
    python3 e2e/run.py e2e -k watch     # only tests whose id contains "watch"
"""
import argparse
import os
import sys
import time
import traceback
import unittest


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0
        self.started = 0.0

    def startTest(self, test):
        super().startTest(test)
        self.started = time.monotonic()

    def _line(self, ok, test, detail=None):
        self.n += 1
        took = time.monotonic() - self.started
        print(f"{'ok' if ok else 'not ok'} {self.n} - {test.id()} ({took:.1f}s)", flush=True)
        if detail:
            for line in detail.rstrip().splitlines():
                print(f"#   {line}", flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test, "".join(traceback.format_exception(*err)))

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test, "".join(traceback.format_exception(*err)))

    def addSkip(self, test, reason):
        # The project does not skip tests: a skip is reported as a failure.
        super().addSkip(test, reason)
        self._line(False, test, f"skipped: {reason}")

    def addExpectedFailure(self, test, err):
        self._line(False, test, "expected failures are not allowed")

    def addUnexpectedSuccess(self, test):
        self._line(False, test, "unexpected success")


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("-k", dest="pattern", default=None, help="run tests whose id contains this")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.abspath(args.folder)
    sys.path.insert(0, folder)
    sys.path.insert(0, os.path.join(root, "e2e"))
    loader = unittest.TestLoader()
    # Only this folder's own test_*.py files: subfolders are separate suites.
    names = sorted(f[:-3] for f in os.listdir(folder) if f.startswith("test_") and f.endswith(".py"))
    suite = unittest.TestSuite(loader.loadTestsFromName(n) for n in names)
    tests = [t for t in iter_tests(suite) if not args.pattern or args.pattern in t.id()]
    result = TapResult()
    print(f"1..{len(tests)}", flush=True)
    unittest.TestSuite(tests).run(result)
    return 0 if result.wasSuccessful() and not result.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
