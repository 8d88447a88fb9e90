"""Unit tests for sites/layout.py's include rule, with the same cases and messages as the Rust
one (crates/marketing-server/src/site/include.rs), so check.py and the benchmark see the pages the
server serves.  Run: python3 -m unittest discover -s sites/tests -p 'test_*.py'"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import layout  # noqa: E402


def resolve(page_url, body, partials):
    return layout.resolve(page_url, body.encode(), lambda url: partials[url].encode() if url in partials else None).decode()


class IncludeRule(unittest.TestCase):
    def test_includes_are_replaced_less_one_trailing_newline(self):
        partials = {"/_partials/head.html": '  <meta charset="utf-8">\n', "/docs/_partials/nav.html": "NAV"}
        self.assertEqual(resolve("/index.html", '<head>\n<!--#include file="_partials/head.html" -->\n</head>\n', partials),
                         '<head>\n  <meta charset="utf-8">\n</head>\n')
        self.assertEqual(resolve("/docs/a.html", '<!--#include file="../_partials/head.html" -->|<!--#include file="_partials/nav.html" -->', partials),
                         '  <meta charset="utf-8">|NAV')

    def test_bad_includes_name_the_page_and_the_problem(self):
        def err(body, partials=None):
            with self.assertRaises(layout.IncludeError) as ctx:
                resolve("/p/page.html", body, partials or {})
            return str(ctx.exception)

        self.assertEqual(err('<!--#include file="_partials/nope.html" -->'),
                         '/p/page.html: include file="_partials/nope.html": /p/_partials/nope.html does not exist')
        self.assertEqual(err('a\nb <!--#include virtual="/x" -->'),
                         '/p/page.html: line 2: not an include directive of the form <!--#include file="..." -->')
        self.assertIn("line 1: not an include", err('<!--#include file="x"-->'))
        self.assertTrue(err('<!--#include file="/_partials/a.html" -->').endswith("must be a relative path"))
        self.assertTrue(err('<!--#include file="../../_partials/a.html" -->').endswith("leaves the site"))
        self.assertTrue(err('<!--#include file="../secret.html" -->', {"/secret.html": "s"}).endswith("is not in a _partials/ directory"))
        self.assertEqual(err('<!--#include file="_partials/a.html" -->', {"/p/_partials/a.html": '<!--#include file="b.html" -->'}),
                         "/p/page.html: /p/_partials/a.html contains a directive (partials cannot include)")

    def test_partial_paths(self):
        self.assertTrue(layout.is_partial("/_partials/head.html"))
        self.assertTrue(layout.is_partial("/docs/_partials/x/y.html"))
        self.assertFalse(layout.is_partial("/_partials"))
        self.assertFalse(layout.is_partial("/_partials.html"))
        self.assertFalse(layout.is_partial("/my_partials/a.html"))


if __name__ == "__main__":
    unittest.main()
