"""Tests of bench/to_benchmarks.py (run by `make lint`)."""

import unittest

from to_benchmarks import fill

REPORT = """# Benchmark results
<!-- bench:api -->
| a | 1 |
<!-- /bench:api -->
<!-- bench:memory -->
| m | 2 |
<!-- /bench:memory -->
"""


class Fill(unittest.TestCase):
    def test_replaces_marked_sections_and_keeps_the_prose(self):
        doc = "intro\n<!-- bench:api -->\nold\n<!-- /bench:api -->\nprose\n"
        new, missing = fill(doc, REPORT)
        self.assertEqual(new, "intro\n<!-- bench:api -->\n| a | 1 |\n<!-- /bench:api -->\nprose\n")
        self.assertEqual(missing, [])

    def test_a_section_the_report_lacks_is_left_and_named(self):
        doc = "<!-- bench:targets -->\nkept\n<!-- /bench:targets -->\n"
        new, missing = fill(doc, REPORT)
        self.assertEqual(new, doc)
        self.assertEqual(missing, ["targets"])


if __name__ == "__main__":
    unittest.main()
